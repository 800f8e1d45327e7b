"""The audit page and its CSV export, both limited to the accounts the user may see."""

from __future__ import annotations

import heapq
import operator
from datetime import datetime, time
from functools import reduce
from itertools import islice
from operator import attrgetter
from typing import Any

from django import forms
from django.db.models import Q, Subquery
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import capfirst
from django.views.decorators.http import require_GET

from requests_app import presenters, reports
from requests_app.models import AuditEvent, Decision, Grant
from requests_app.presenters import action_words

from .common import account_sid, can, permission_required, render

AUDIT_ACTIONS = (
    "approve",
    "reject",
    "approve_queued",
    "reject_queued",
    "approve_undone",
    "reject_undone",
    "approve_settled",
    "reject_settled",
    "claim",
    "release",
    "assign",
    "comment",
    "sync",
    "sandbox_reset",
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "rule_saved",
    "rule_enabled",
    "rule_disabled",
    "rule_moved",
    "rule_deleted",
    "rules_stopped",
    "rules_resumed",
)


class AuditFilterForm(forms.Form):
    person = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(
        required=False,
        choices=[("", "Any action"), *((a, capfirst(action_words(a))) for a in AUDIT_ACTIONS)],
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AuditEvent.Outcome.choices]
    )
    account = forms.CharField(required=False, max_length=64)
    request_id = forms.CharField(label="Request", required=False, max_length=32)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # The page's cursor: the id of the last event shown (BigAutoField's range).
    before = forms.IntegerField(
        label="Older than", required=False, min_value=1, max_value=2**63 - 1
    )

    # The fields the filter bar shows (the cursor is the pager's link, not a field there).
    BAR = ("person", "action", "outcome", "account", "request_id", "since", "until")

    def __init__(self, data: Any = None) -> None:
        super().__init__(data, label_suffix="")


def visible_parts(request: HttpRequest) -> list[Q]:
    """Whose events the user may read, one part per index read: the account shown (the rule of
    the list and detail pages), and the events of no account (sign-ins) of the people who hold
    a role on it. A superuser reads every sign-in, failed ones included."""
    sid = account_sid(request)
    sign_ins = Q(account_sid="")
    if not request.user.is_superuser:
        people = Grant.objects.filter(account__sid=sid).values("user")
        sign_ins &= Q(actor__in=Subquery(people))
    return [Q(account_sid=sid), sign_ins]


def audit_events(request: HttpRequest) -> tuple[AuditFilterForm, object]:
    """The filter form and the events it selects, never outside visible_parts. Fields that
    do not validate are left out here; the views answer 400 and show why."""
    form = AuditFilterForm(request.GET)
    form.is_valid()
    data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors and v}
    events = AuditEvent.objects.filter(reduce(operator.or_, visible_parts(request)))
    if "person" in data:
        events = events.filter(actor_name=data["person"])
    if "action" in data:
        events = events.filter(action=data["action"])
    if "outcome" in data:
        events = events.filter(outcome=data["outcome"])
    if "account" in data:
        events = events.filter(account_sid=data["account"])
    if "request_id" in data:
        events = events.filter(request_impact_id=data["request_id"])
    zone = timezone.get_current_timezone()
    if "since" in data:
        events = events.filter(created_at__gte=datetime.combine(data["since"], time.min, zone))
    if "until" in data:
        events = events.filter(created_at__lte=datetime.combine(data["until"], time.max, zone))
    return form, events


def chosen(form: AuditFilterForm) -> list[str]:
    """What the filter bar's widgets show: the raw values, which its cached copy is keyed on."""
    return [form.data.get(name, "") for name in AuditFilterForm.BAR]


AUDIT_ROW_COLUMNS = (
    "created_at", "actor_name", "action", "outcome", "request_impact_id", "sent",
    "response_status", "response_message",
)  # fmt: skip


@require_GET
@permission_required("view_auditevent")
def audit_log(request: HttpRequest) -> HttpResponse:
    form, events = audit_events(request)
    if before := form.cleaned_data.get("before"):
        events = events.filter(id__lt=before)
    # What a row shows, as named tuples: not the hash chain or the JSON detail (decoding it was
    # a tenth of the page), and no model instances (building them was another tenth).
    shown = events.order_by("-id").values_list(
        "id", *AUDIT_ROW_COLUMNS, "detail__decision", named=True
    )
    # Each visible account's newest events through its own index, merged: one query over all
    # of them walked the primary key, so an account whose events are older skipped every newer
    # event of the others (a 10,000-event account's page took 25 ms beside a 100,000 one's 10).
    newest = [shown.filter(part)[:101] for part in visible_parts(request)]
    page = list(islice(heapq.merge(*newest, key=attrgetter("id"), reverse=True), 101))
    more = len(page) > 100
    page = page[:100]
    # A queued row says what became of its decision: one query, only when the page has some.
    queued = [row.detail__decision for row in page if row.action.endswith("_queued")]
    finals = dict(Decision.objects.filter(pk__in=queued).values_list("pk", "status"))
    context = {
        "form": form,
        "chosen": chosen(form),
        "rows": presenters.audit_rows(page, zone=timezone.get_current_timezone(), finals=finals),
        "next_before": page[-1].id if more else None,
        "can_export": can(request, "requests_app.export_audit"),
    }
    response = render(request, "requests_app/audit.html", context, partial="events")
    if form.errors:
        response.status_code = 400
    return response


@require_GET
@permission_required("export_audit")
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form, events = audit_events(request)
    if form.errors:
        # An export with a filter left out would hold more than was asked for.
        response = render(
            request, "requests_app/audit.html", {"form": form, "chosen": chosen(form)}
        )
        response.status_code = 400
        return response
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        reports.audit_csv(events), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="tvr-audit-{stamp}.csv"'
    return response
