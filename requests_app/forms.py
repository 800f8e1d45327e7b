"""The filter form (GET), one approve form per request type, the code tester, the reject,
comment and assign forms. Each form is the one source of its fields' names, ids, limits and
widget attributes (htmx included): the templates render the fields, never copies of them."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MinValueValidator
from django.db.models import QuerySet
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone

from requests_app import deals, impact, patterns, pickers, queues, search, tracking_values
from requests_app.models import (
    ACCOUNT_SID,
    Grant,
    NotificationSettings,
    RequestType,
    Rule,
    State,
    TrackingValueRequest,
)

ID_MAX = 2**63 - 1

STATE_TABS = [
    ("NEW", "Open"),
    ("APPROVED", "Approved"),
    ("COMPLETED", "Completed"),
    ("DECLINED", "Declined"),
    ("all", "All"),
]

# (form value, label, ORM ordering); ties broken by id so keyset paging is stable.
SORTS = {
    "needed": ("Date needed, soonest first", "date_needed", False),
    "-needed": ("Date needed, latest first", "date_needed", True),
    "-placed": ("Date placed, newest first", "date_placed", True),
    "placed": ("Date placed, oldest first", "date_placed", False),
    "partner": ("Partner A–Z", "media_partner_name", False),
    "campaign": ("Campaign A–Z", "campaign_name", False),
    "breach": ("Time to breach, soonest first", "sla_due_at", False),
}


class FilterForm(forms.Form):
    """Every filter the list offers; invalid values are dropped, never a 500."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(
            attrs={
                "placeholder": "Partner, campaign, deal, code, instructions or id",
                "autocomplete": "off",
            }
        ),
    )
    state = forms.ChoiceField(choices=STATE_TABS, required=False)
    queue = forms.ChoiceField(
        label="Queue", choices=[("", "Any queue"), *queues.QUEUES], required=False
    )
    request_type = forms.ChoiceField(
        label="Type", choices=[("", "Any type"), *RequestType.choices], required=False
    )
    campaign = forms.TypedChoiceField(
        label="Campaign", coerce=int, required=False, empty_value=None
    )
    partner = forms.TypedChoiceField(label="Partner", coerce=int, required=False, empty_value=None)
    deal = forms.TypedChoiceField(label="Deal", coerce=int, required=False, empty_value=None)
    needed_from = forms.DateField(
        label="Needed from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    needed_to = forms.DateField(
        label="Needed by", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(
        label="Sort", choices=[(k, v[0]) for k, v in SORTS.items()], required=False
    )

    # The fields the list's filter bar shows (the tab and queue are links, not fields there).
    BAR = ("q", "request_type", "campaign", "partner", "deal", "needed_from", "needed_to", "sort")

    def __init__(self, data: Any = None, *, choices: dict[str, list] | None = None) -> None:
        super().__init__(data, label_suffix="")
        choices = choices or {}
        self.fields["campaign"].choices = [("", "Any campaign"), *choices.get("campaign", [])]
        self.fields["partner"].choices = [("", "Any partner"), *choices.get("partner", [])]
        self.fields["deal"].choices = [("", "Any deal"), *choices.get("deal", [])]

    def filters(self) -> dict[str, Any]:
        """The valid filters; a field that did not validate is ignored rather than refused."""
        self.is_valid()
        return {
            name: self.cleaned_data[name] for name in self.cleaned_data if name not in self.errors
        }

    @property
    def active_state(self) -> str:
        state = self.filters().get("state") or "NEW"
        return "NEW" if self.filters().get("queue") else state

    @property
    def active_sort(self) -> str:
        return self.filters().get("sort") or "needed"


def filtered(rows: QuerySet, values: dict[str, Any], user: Any, *, with_state: bool = True):
    """The one queryset function behind the list, its tabs and its queue views."""
    if values.get("queue"):
        rows = queues.in_queue(rows, values["queue"], user)
    elif with_state and (values.get("state") or "NEW") != "all":
        rows = rows.filter(state=values.get("state") or "NEW")
    for field, column in (
        ("request_type", "request_type"),
        ("campaign", "campaign_id"),
        ("partner", "media_partner_id"),
        ("deal", "deal_id"),
    ):
        if values.get(field) not in (None, ""):
            rows = rows.filter(**{column: values[field]})
    zone = timezone.get_current_timezone()
    if values.get("needed_from"):
        start = datetime.combine(values["needed_from"], time.min, tzinfo=zone)
        rows = rows.filter(date_needed__gte=start)
    if values.get("needed_to"):
        end = datetime.combine(values["needed_to"], time.max, tzinfo=zone)
        rows = rows.filter(date_needed__lte=end)
    if values.get("q"):
        rows = search.matching(rows, values["q"])
    return rows


# --- approve ----------------------------------------------------------------------------------


CREDIT_POLICY_HELP = {
    "ALWAYS": "Credits the code whatever the clicks, and stops click tracking for this partner: "
    "their reports will show 0 clicks.",
    "INVOLVED": "Credits the code when the partner drove any click in the customer's path.",
    "WINNER": "Credits the code only when the partner drove the winning (last) click.",
}
MATCH_MODE_HELP = {
    "LI": "Exact: matches this exact code, ignoring upper/lower case.",
    "RE": "Regular expression: a case-sensitive pattern; every code it matches is credited.",
}


class DecisionForm(forms.Form):
    note = forms.CharField(
        label="Note for the team (kept here, not sent)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # "<rule id>:<version>" when the reviewer confirms what a rule suggested.
    # Never an error: a value that names no rule of the account is recorded as no suggestion.
    suggested_by = forms.CharField(required=False, strip=True, widget=forms.HiddenInput)


class ApprovalForm(DecisionForm):
    """Fields every approval may carry: the deal is optional and pre-filled from the request."""

    request_type = ""
    # A text box, as the pickers' id fields: a number input would drop a mistyped id unseen.
    deal_id = forms.IntegerField(
        label="Deal id",
        required=False,
        min_value=1,
        max_value=ID_MAX,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    deal_name = forms.CharField(label="Deal name", required=False, max_length=255)
    # Explicit yeses for what impact.com would refuse or regret (see approval_problems).
    confirm_expired = forms.BooleanField(label="Send the expired deal anyway", required=False)

    def approval(self) -> impact.Approval:
        data = self.cleaned_data
        return impact.Approval(
            self.request_type,
            promo_code=data.get("promo_code", ""),
            credit_policy=data.get("credit_policy", ""),
            match_mode=data.get("match_mode", ""),
            url_id=data.get("url_id"),
            assigned_phone_number_id=data.get("assigned_phone_number_id"),
            deal_id=data.get("deal_id"),
            deal_name=data.get("deal_name", ""),
        )


class PromoCodeApprovalForm(ApprovalForm):
    request_type = RequestType.PROMOCODE_TRACKING
    promo_code = forms.CharField(
        label="Promo code",
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    credit_policy = forms.ChoiceField(
        label="Credit policy",
        choices=[(k, k.title()) for k in CREDIT_POLICY_HELP],
        widget=forms.RadioSelect,
        initial="INVOLVED",
    )
    match_mode = forms.ChoiceField(
        label="Match mode",
        choices=[("LI", "Exact (LI)"), ("RE", "Regular expression (RE)")],
        widget=forms.RadioSelect,
        initial="LI",
    )
    confirm_taken = forms.BooleanField(
        label="Approve it although another partner holds this code", required=False
    )
    field_order = ["promo_code", "credit_policy", "match_mode", "deal_id", "deal_name", "note"]

    def __init__(self, *args: Any, check_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if check_url:
            # Typing a code or choosing a mode asks the tester again, with the codes to try.
            self.fields["promo_code"].widget.attrs.update(
                asks_the_tester(check_url, f"{CHECKED_MODE}, {SAMPLES}")
            )
            self.fields["match_mode"].widget.attrs.update(
                asks_the_tester(check_url, f"{APPROVE_CODE}, {SAMPLES}", trigger="change")
            )

    def clean_promo_code(self) -> str:
        code = self.cleaned_data["promo_code"].strip()
        if not code:
            raise forms.ValidationError("Enter the promo code to approve.")
        if any(ch in code for ch in "\r\n\t\x00"):
            raise forms.ValidationError("A promo code cannot contain line breaks or tabs.")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("match_mode") == "RE" and data.get("promo_code"):
            error = patterns.compile_error(data["promo_code"])
            if error:
                self.add_error("promo_code", error)
        return data


class BrandedUrlApprovalForm(ApprovalForm):
    request_type = RequestType.BRANDED_URL_TRACKING
    url_id = forms.IntegerField(
        label="Branded URL id",
        min_value=1,
        max_value=ID_MAX,
        help_text="The id of the branded URL in impact.com: pick one below, or type it.",
        widget=pickers.TrackingValuePicker("url"),
    )
    field_order = ["url_id", "deal_id", "deal_name", "note"]


class PhoneNumberApprovalForm(ApprovalForm):
    request_type = RequestType.PHONE_NUMBER_TRACKING
    assigned_phone_number_id = forms.IntegerField(
        label="Assigned phone number id",
        min_value=1,
        max_value=ID_MAX,
        help_text="The id of the tracking phone number in impact.com: pick one below, or type it.",
        widget=pickers.TrackingValuePicker("phone"),
    )
    field_order = ["assigned_phone_number_id", "deal_id", "deal_name", "note"]


APPROVAL_FORMS: dict[str, type[ApprovalForm]] = {
    form.request_type: form
    for form in (PromoCodeApprovalForm, BrandedUrlApprovalForm, PhoneNumberApprovalForm)
}


def approval_form(request: TrackingValueRequest, data: Any = None) -> ApprovalForm | None:
    """The approve form for the request's type, pre-filled from the request and its deal."""
    form_class = APPROVAL_FORMS.get(request.request_type)
    if form_class is None:
        return None
    payload = request.payload or {}
    initial: dict[str, Any] = {}
    if not deals.has_expired(impact.Deal.parse(payload), timezone.now()):
        # An expired deal is not offered to be sent: the reviewer types it to send it.
        initial = {"deal_id": request.deal_id, "deal_name": request.deal_name}
    if form_class is PromoCodeApprovalForm:
        codes = [
            p.get("RequestedPromoCode") or p.get("RequestedCode") or ""
            for p in payload.get("PromoCodes") or []
            if isinstance(p, dict)
        ]
        initial["promo_code"] = next((c for c in codes if c), "") or payload.get(
            "DealDefaultPromoCode", ""
        )
    if form_class is PromoCodeApprovalForm:
        form = form_class(data, initial=initial, check_url=code_check_url(request))
    else:
        form = form_class(data, initial=initial)
    pickers.offer(form, request.account_sid)
    return form


def approval_problems(
    request: TrackingValueRequest, form: ApprovalForm, *, deadline: patterns.Deadline
) -> list[TrackingValueRequest]:
    """After a valid approve form: add an error for each thing that needs an explicit yes the
    form did not give (the request's expired deal; a promo code another partner holds, which
    impact.com refuses as "already assigned to another partner"). Returns those holders.
    Raises patterns.TooSlow when matching a pattern runs past the deadline."""
    data = form.cleaned_data
    deal_id = data.get("deal_id")
    if deal_id is not None and not data.get("confirm_expired"):
        deal = impact.Deal.parse(request.payload or {})
        if deal is not None and deal.id == deal_id and deals.has_expired(deal, timezone.now()):
            form.add_error(
                "confirm_expired",
                f"Deal {deal.name or deal_id} has expired. Tick the box to send it anyway, or "
                "clear the deal id.",
            )
    holders: list[TrackingValueRequest] = []
    if "confirm_taken" in form.fields and not data.get("confirm_taken"):
        holders = code_taken_elsewhere(
            request, data["promo_code"], data["match_mode"], deadline=deadline
        )
        if holders:
            form.add_error(
                "confirm_taken",
                f"{holders[0].media_partner_name} already holds this code; impact.com refuses a "
                "code assigned to another partner. Tick the box to approve it anyway.",
            )
        else:
            _check_account_codes(request, form, deadline=deadline)
    return holders


def _check_account_codes(
    request: TrackingValueRequest, form: ApprovalForm, *, deadline: patterns.Deadline
) -> None:
    """The code against every promo code of the account (not only cached requests): for an
    expression, every code of another partner it would match, so the reviewer sees whose
    credit it would take before saying yes."""
    data = form.cleaned_data
    held = tracking_values.codes_held_elsewhere(
        request.account_sid,
        request.media_partner_id,
        data["promo_code"],
        data["match_mode"],
        deadline=deadline,
    )
    if not held:
        return
    listed = ", ".join(f"{h.code} ({h.partner_name or f'partner {h.partner_id}'})" for h in held)
    more = " and possibly more" if len(held) >= tracking_values.HOLDERS_SHOWN else ""
    if data["match_mode"] == "RE":
        message = (
            f"This expression also matches codes the account gave other partners: {listed}"
            f"{more}. Approving it would take their credit. Tick the box to approve it anyway."
        )
    else:
        message = (
            f"The account already gave this code to another partner: {listed}. impact.com "
            "refuses a code assigned to another partner. Tick the box to approve it anyway."
        )
    form.add_error("confirm_taken", message)


# --- the code tester ------------------------------------------------------------------------

TESTED_CODES = 20
TESTED_CODE_LENGTH = 100
TESTED_TEXT = 4000  # characters of the codes box: 20 codes of 100, with room for blanks
TEST_SECONDS = 0.25  # all the regular expression work of one tester request, together
TOO_SLOW = "This expression takes too long to test; simplify it."


# What the tester's htmx GETs include: the approve form's code and chosen match mode, and the
# tester's codes box (the ids the two forms give these fields).
APPROVE_CODE = "#id_promo_code"
CHECKED_MODE = "#approve-form [name=match_mode]:checked"
SAMPLES = "#id_samples"
TESTER_PARAMS = "promo_code,match_mode,samples"


def code_check_url(request: TrackingValueRequest) -> str:
    """The code tester's GET: the request's page, asked for the tester's answer (`check`)."""
    return reverse("requests:detail", args=[request.impact_id], query={"check": 1})


def asks_the_tester(
    url: str, include: str, *, trigger: str = "input changed delay:300ms"
) -> dict[str, str]:
    """The htmx attributes of a field whose change asks the code tester again: its own three
    fields only (never the approve form's CSRF token), a newer answer replacing one in flight."""
    return {
        "hx-get": url,
        "hx-trigger": trigger,
        "hx-target": "#code-check",
        "hx-sync": "#code-check:replace",
        "hx-include": include,
        "hx-params": TESTER_PARAMS,
        "hx-push-url": "false",
    }


class CodeTestForm(forms.Form):
    """The code tester (GET): a code or pattern, its match mode and the codes to try.

    On the request's page its fields belong to the empty `code-test` form (form="code-test"),
    and share their names with the approve form's: their ids are their own. With JavaScript
    the code and mode come from the approve form's fields (only the codes box shows)."""

    promo_code = forms.CharField(
        label="Code or pattern to test",
        required=False,
        max_length=patterns.MAX_PATTERN_LENGTH,
        widget=forms.TextInput(
            attrs={
                "id": "id_test_code",
                "form": "code-test",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    match_mode = forms.ChoiceField(
        label="Match mode to test",
        choices=PromoCodeApprovalForm.base_fields["match_mode"].choices,
        required=False,
        widget=forms.Select(attrs={"id": "id_test_mode", "form": "code-test"}),
    )
    samples = forms.CharField(
        label="Test codes against it",
        required=False,
        max_length=TESTED_TEXT,
        strip=False,
        widget=forms.Textarea(
            attrs={"id": SAMPLES[1:], "form": "code-test", "rows": 2, "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, check_url: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_test_%s")
        super().__init__(*args, **kwargs)
        self.check_url = check_url
        if check_url:
            self.fields["samples"].widget.attrs.update(
                asks_the_tester(check_url, f"{APPROVE_CODE}, {CHECKED_MODE}")
            )

    def clean_match_mode(self) -> str:
        return self.cleaned_data["match_mode"] or "LI"

    def clean_samples(self) -> list[str]:
        codes = self.cleaned_data["samples"].replace(",", "\n").splitlines()
        codes = [code.strip() for code in codes if code.strip()]
        if len(codes) > TESTED_CODES:
            raise forms.ValidationError(f"Test at most {TESTED_CODES} codes at a time.")
        if any(len(code) > TESTED_CODE_LENGTH for code in codes):
            raise forms.ValidationError(
                f"A code to test is at most {TESTED_CODE_LENGTH} characters."
            )
        return codes


def code_matches(
    code: str, mode: str, samples: list[str], *, deadline: patterns.Deadline
) -> list[tuple[str, bool]]:
    """Which sample codes a code would credit: LI ignores case, RE is case-sensitive and whole.
    Raises patterns.TooSlow when the pattern runs past the deadline."""
    if mode != "RE":
        return [(sample, sample.casefold() == code.casefold()) for sample in samples]
    if patterns.compile_error(code):
        return [(sample, False) for sample in samples]
    pattern = patterns.compiled(code)
    return [(sample, patterns.fullmatch(pattern, sample, deadline)) for sample in samples]


def code_taken_elsewhere(
    request: TrackingValueRequest, code: str, mode: str, *, deadline: patterns.Deadline
) -> list[TrackingValueRequest]:
    """Cached approvals of this code (or, for RE, of codes it matches) for other partners.
    Raises patterns.TooSlow when matching them runs past the deadline."""
    if not code:
        return []
    others = (
        TrackingValueRequest.objects.filter(
            account_sid=request.account_sid,
            request_type=RequestType.PROMOCODE_TRACKING,
            state__in=[State.APPROVED, State.COMPLETED],
        )
        .exclude(media_partner_id=request.media_partner_id)
        .exclude(approved_value="")
        .only("impact_id", "media_partner_name", "approved_value", "media_partner_id")
    )
    if mode == "RE":
        if patterns.compile_error(code):
            return []
        pattern = patterns.compiled(code)
        found = []
        for other in others.iterator(chunk_size=2000):
            if patterns.fullmatch(pattern, other.approved_value, deadline):
                found.append(other)
                if len(found) >= 5:
                    break
        return found
    # Spelled as the tvr_approved_code index is, so the database uses it.
    return list(others.alias(code=Upper("approved_value")).filter(code=code.upper())[:5])


# --- reject, comment, saved views -------------------------------------------------------------


class RejectForm(DecisionForm):
    """On the request's page beside the approve form, whose note shares its name: its own
    ids (id_reject_...), but for the two the keyboard flow has always found by theirs."""

    reason = forms.ChoiceField(
        label="Reason", required=False, widget=forms.Select(attrs={"id": "id_reason"})
    )
    reason_text = forms.CharField(
        label="Or in your words",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"id": "id_reason_text"}),
    )
    field_order = ["reason", "reason_text", "note"]

    def __init__(self, *args: Any, labels: list[str], **kwargs: Any) -> None:
        """`labels`: the account's active rejection reasons (roles.team_choices)."""
        kwargs.setdefault("auto_id", "id_reject_%s")
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "No reason given"), *((x, x) for x in labels)]

    def reason_value(self) -> str:
        parts = [
            self.cleaned_data.get("reason", ""),
            self.cleaned_data.get("reason_text", "").strip(),
        ]
        return " — ".join(p for p in parts if p)[:200]


class BulkRejectForm(forms.Form):
    ids = forms.CharField(widget=forms.MultipleHiddenInput)
    # Shown below the list's table, outside the bulk form it belongs to (form="bulk").
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"form": "bulk"}),
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment for the team",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "A comment needs some text."},
    )


class AssignForm(forms.Form):
    """Who to hand a request to: any active user (queues.assign says when they cannot review).
    The page offers the team's reviewers (see offer), so drawing it reads no users."""

    to = forms.ModelChoiceField(
        label="Assign to",
        queryset=get_user_model().objects.filter(is_active=True),
        empty_label="Choose…",
        error_messages={
            "required": "Choose a teammate to assign it to.",
            "invalid_choice": "Choose a teammate to assign it to.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_assign_%s")
        super().__init__(*args, **kwargs)

    def offer(self, reviewers: list[tuple[int, str]]) -> None:
        """The teammates the select lists: (pk, name), as roles.team_choices caches them."""
        self.fields["to"].choices = [("", self.fields["to"].empty_label), *reviewers]


class SavedViewForm(forms.Form):
    name = forms.CharField(
        label="View name",
        max_length=80,
        widget=forms.TextInput(attrs={"placeholder": "Name, e.g. Overdue promo codes"}),
    )
    shared = forms.BooleanField(label="Share with the team", required=False)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)


class AccountForm(forms.Form):
    """Add an impact.com account, or change one: the token is never shown again once saved."""

    sid = forms.RegexField(
        label="AccountSID",
        regex=rf"^{ACCOUNT_SID}$",
        max_length=64,
        help_text="impact.com shows it under Settings → API.",
        error_messages={"invalid": "An AccountSID is letters and digits."},
    )
    token = forms.CharField(
        label="Auth token",
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the saved one.",
    )
    name = forms.CharField(
        label="Display name",
        required=False,
        max_length=200,
        help_text="Leave empty to use the company name impact.com gives.",
    )
    base_url = forms.URLField(
        label="API base URL",
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text="Leave empty for the default (IMPACT_API_BASE_URL).",
    )


class GrantForm(forms.Form):
    """A person's role on the account shown (none: no access to it). The person is named by
    their username: the page never lists the sign-ins of other accounts."""

    username = forms.CharField(label="Username", max_length=150)
    role = forms.ChoiceField(
        label="Role",
        choices=[*Grant.Role.choices, ("", "None")],
        required=False,
        initial="viewer",  # the least a grant gives; "None" takes access away
    )


# --- rules ------------------------------------------------------------------------------------

DEAL_STATES = [
    ("", "Any state"),
    ("ACTIVE", "Active"),
    ("PENDING", "Pending"),
    ("EXPIRED", "Expired"),
]
DEAL_TYPES = [("", "Any type")] + [
    (kind, kind.replace("_", " ").title())
    for kind in ("GENERAL_SALE", "FREE_SHIPPING", "GIFT_WITH_PURCHASE", "REBATE", "BOGO")
]


class RuleForm(forms.ModelForm):
    """A rule's conditions and action. The campaigns, partners and deals offered are the
    cached ones (the list's filter choices), the reasons the account's own; the fields an
    action needs are checked against the request type it is for."""

    campaign_ids = forms.TypedMultipleChoiceField(
        label="Campaigns", coerce=int, required=False, help_text="None chosen: every campaign."
    )
    partner_ids = forms.TypedMultipleChoiceField(
        label="Partners", coerce=int, required=False, help_text="None chosen: every partner."
    )
    deal_id = forms.TypedChoiceField(
        label="Which deal", coerce=int, required=False, empty_value=None
    )
    deal_state = forms.ChoiceField(label="Deal state", choices=DEAL_STATES, required=False)
    deal_type = forms.ChoiceField(label="Deal type", choices=DEAL_TYPES, required=False)
    credit_policy = forms.ChoiceField(
        label="Credit policy",
        choices=[(k, k.title()) for k in CREDIT_POLICY_HELP],
        widget=forms.RadioSelect,
        initial="INVOLVED",
        required=False,
    )
    match_mode = forms.ChoiceField(
        label="Match mode",
        choices=[("LI", "Exact (LI)"), ("RE", "Regular expression (RE)")],
        widget=forms.RadioSelect,
        initial="LI",
        required=False,
    )
    reason = forms.ChoiceField(label="Rejection reason", required=False)

    class Meta:
        model = Rule
        fields = [name for name in Rule.DEFINITION if name != "version"]
        widgets = {
            "action": forms.RadioSelect,
            "mode": forms.RadioSelect,
            "code_source": forms.RadioSelect,
            "code_pattern": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "url_id": pickers.TrackingValuePicker("url"),
            "phone_number_id": pickers.TrackingValuePicker("phone"),
        }
        labels = {"request_type": "Request type", "deal": "Deal"}

    def __init__(self, *args: Any, choices: dict[str, list], reasons: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["request_type"].choices = [("", "Any type"), *RequestType.choices]
        self.fields["campaign_ids"].choices = choices["campaign"]
        self.fields["partner_ids"].choices = choices["partner"]
        self.fields["deal_id"].choices = [("", "—"), *choices["deal"]]
        kept = self.instance.reason
        offered = reasons + ([kept] if kept and kept not in reasons else [])
        self.fields["reason"].choices = [("", "No reason"), *((r, r) for r in offered)]
        self.fields["action"].choices = Rule.Action.choices  # no empty choice on a radio
        self.fields["mode"].choices = Rule.Mode.choices
        self.fields["code_source"].choices = Rule.CodeSource.choices
        self.fields["code_source"].required = False
        for name in ("min_number", "max_number", "quota"):
            self.fields[name].widget.attrs.update(inputmode="numeric", min="0")
        for name in ("url_id", "phone_number_id"):
            self.fields[name].validators.append(MinValueValidator(1))
        pickers.offer(self, self.instance.account_sid)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = Rule.objects.filter(account_sid=self.instance.account_sid, name=name)
        if others.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another rule of this account has this name.")
        return name

    def clean_code_pattern(self) -> str:
        pattern = self.cleaned_data["code_pattern"]
        if pattern and (error := patterns.compile_error(pattern)):
            raise forms.ValidationError(error)
        return pattern

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("min_number"), data.get("max_number")
        if low is not None and high is not None and low > high:
            self.add_error("max_number", "This is less than the smallest number above.")
        if data.get("deal") == Rule.Deal.GIVEN and not data.get("deal_id"):
            self.add_error("deal_id", "Choose the deal.")
        if data.get("deal") != Rule.Deal.GIVEN:
            data["deal_id"] = None
        if data.get("action") == Rule.Action.APPROVE:
            self._clean_approval(data)
        else:
            data["quota"] = None  # a quota counts approvals
        return data

    def _clean_approval(self, data: dict[str, Any]) -> None:
        kind = data.get("request_type")
        if not kind:
            self.add_error(
                "request_type", "An approving rule is for one request type: its values differ."
            )
        elif kind == RequestType.PROMOCODE_TRACKING:
            for name, message in (
                ("code_source", "Choose which code to approve."),
                ("credit_policy", "Choose a credit policy."),
                ("match_mode", "Choose a match mode."),
            ):
                if not data.get(name):
                    self.add_error(name, message)
            if data.get("match_mode") == "RE" and data.get("code_source") != "deal_default":
                self.add_error(
                    "match_mode",
                    "A partner's requested code is never sent as a regular expression: use "
                    "Exact, or approve the deal's default code.",
                )
        elif kind == RequestType.BRANDED_URL_TRACKING and not data.get("url_id"):
            self.add_error("url_id", "Enter the branded URL id to give.")
        elif kind == RequestType.PHONE_NUMBER_TRACKING and not data.get("phone_number_id"):
            self.add_error("phone_number_id", "Enter the phone number id to give.")


# --- notifications ----------------------------------------------------------------------------


class NotificationForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = [
            "new_in_queues",
            "about_to_breach",
            "breaches",
            "rule_paused",
            "by_email",
            "by_slack",
            "frequency",
            "quiet_from",
            "quiet_to",
        ]
        widgets = {
            "frequency": forms.RadioSelect,
            "quiet_from": forms.TimeInput(attrs={"type": "time"}),
            "quiet_to": forms.TimeInput(attrs={"type": "time"}),
        }
        labels = {"quiet_from": "Quiet from", "quiet_to": "until"}

    def clean(self):
        data = super().clean()
        if (data.get("quiet_from") is None) != (data.get("quiet_to") is None):
            self.add_error("quiet_to", "Give both times of your quiet hours, or neither.")
        return data
