"""One request: every field, the deal summary, the timeline, and approve / reject by type."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from requests_app import deals, decisions, impact, patterns, queues, roles, rules, triage
from requests_app.forms import (
    CREDIT_POLICY_HELP,
    MATCH_MODE_HELP,
    TEST_SECONDS,
    TESTED_TEXT,
    TOO_SLOW,
    AssignForm,
    CodeTestForm,
    CommentForm,
    RejectForm,
    approval_form,
    approval_problems,
    code_check_url,
    code_matches,
    code_taken_elsewhere,
)
from requests_app.models import (
    AuditEvent,
    Comment,
    Decision,
    Preference,
    Rule,
    State,
    TrackingValueRequest,
)

from .common import can, current_account, get_request_or_404, permission_required, render
from .lists import filter_choices

TEMPLATE = "requests_app/detail.html"
# A decision in these is on its way: the card (and a notice of it) polls until it settles.
PENDING = (Decision.Status.QUEUED, Decision.Status.SENDING, Decision.Status.UNCONFIRMED)


def _code_check(tvr: TrackingValueRequest, data: Any) -> dict[str, Any]:
    """The code tester and the one-code-one-partner guard-rail for a promo code form. Its
    inputs are bounded and its regular expression work shares one deadline."""
    fields = ("promo_code", "match_mode", "samples")
    form = CodeTestForm({name: data.get(name) or "" for name in fields})
    form.is_valid()
    code = form.cleaned_data.get("promo_code", "")
    mode = form.cleaned_data.get("match_mode", "LI")
    errors = [error for name in fields for error in form.errors.get(name, [])]
    if mode == "RE" and code and not errors and (error := patterns.compile_error(code)):
        errors.append(error)
    matches, conflicts = [], []
    if not errors:
        deadline = patterns.Deadline(TEST_SECONDS)
        try:
            matches = code_matches(code, mode, form.cleaned_data["samples"], deadline=deadline)
            conflicts = code_taken_elsewhere(tvr, code, mode, deadline=deadline)
        except patterns.TooSlow:
            errors.append(TOO_SLOW)
    return {
        "code": code,
        "mode": mode,
        "mode_help": MATCH_MODE_HELP[mode],
        "samples": str(data.get("samples") or "")[:TESTED_TEXT],
        "errors": errors,
        "matches": matches if code else [],
        "conflicts": conflicts,
    }


def timeline(tvr: TrackingValueRequest) -> list[dict[str, Any]]:
    """Placed, first synced, then every audited event (claims, comments, decisions) in order."""
    entries: list[dict[str, Any]] = []
    if tvr.date_placed:
        entries.append({"at": tvr.date_placed, "kind": "placed", "who": tvr.media_partner_name})
    entries.append({"at": tvr.first_seen_at, "kind": "synced", "who": ""})
    # A comment event names its comment; its text comes in the same query.
    body = Comment.objects.filter(request_id=tvr.pk, pk=OuterRef("comment_id")).values("body")
    events = (
        AuditEvent.objects.filter(account_sid=tvr.account_sid, request_impact_id=tvr.impact_id)
        .alias(comment_id=Cast(KT("detail__comment"), IntegerField()))
        .annotate(comment_body=Subquery(body[:1]))
        .order_by("id")[:200]
    )
    for event in events:
        entry = {
            "at": event.created_at,
            "kind": event.action,
            "who": event.actor_name,
            "event": event,
        }
        if event.action == "comment" and event.comment_body is not None:
            entry["comment"] = event.comment_body
        entries.append(entry)
    if tvr.date_completed and not tvr.is_open:
        # impact.com's clock and ours differ: its confirmation never reads as coming before
        # the decision it confirms.
        decided = [e["at"] for e in entries if e["kind"] in ("approve", "reject")]
        entries.append(
            {
                "at": tvr.date_completed,
                "order": max([tvr.date_completed, *decided]),
                "kind": "completed",
                "who": "impact.com",
                "state": tvr.get_state_display(),
            }
        )
    return sorted(entries, key=lambda e: e.get("order", e["at"]))


def approved_values(tvr: TrackingValueRequest, item: impact.TrackingValueRequest) -> list[str]:
    """Every value impact.com approved (all the codes, URLs or numbers), none unless approved."""
    if tvr.state not in (State.APPROVED, State.COMPLETED):
        return []
    values = [c.approved_code for c in item.promo_codes if c.approved_code]
    values += [
        f"{u.url} (URL id {u.url_id})" if u.url else f"URL id {u.url_id}"
        for u in item.unique_urls
        if u.url_id is not None
    ]
    values += [
        f"{p.assigned_phone_number or '—'} (id {p.assigned_phone_number_id})"
        for p in item.phone_numbers
        if p.assigned_phone_number_id is not None
    ]
    return values or ([tvr.approved_value] if tvr.approved_value else [])


def list_context(request: HttpRequest) -> dict[str, Any]:
    """The list the reviewer came from (the `list` parameter), to link back to and move on in."""
    source = request.POST if request.method == "POST" else request.GET
    filters = triage.list_filters(source.get("list", ""))
    query = filters.urlencode()
    param = QueryDict(mutable=True)
    if query:
        param["list"] = query
    return {
        "list_filters": filters,
        "list_query": query,
        "list_param": param,
        "list_label": triage.list_label(filters),
    }


def detail_url(impact_id: str, list_query: str, **extra: str) -> str:
    """A request's page, keeping the list it was opened from."""
    params = QueryDict(mutable=True)
    if list_query:
        params["list"] = list_query
    params.update(extra)
    return reverse("requests:detail", args=[impact_id], query=params)


def notice_of(request: HttpRequest, tvr: TrackingValueRequest) -> Decision | None:
    """The decision the reviewer just made on the request they moved on from (`done`)."""
    done = request.GET.get("done", "")[:32]
    if not done or done == tvr.impact_id:
        return None
    return (
        Decision.objects.filter(
            request__account_sid=tvr.account_sid,
            request__impact_id=done,
            decided_by=request.user.pk,
        )
        .select_related("request")
        .order_by("-created_at")
        .first()
    )


def _accept_form(tvr: TrackingValueRequest, suggestion: rules.Suggestion) -> Any:
    """The approve or reject form filled in as the rule suggests, to send as hidden fields: the
    reviewer's one key goes through the same checks as the visible forms."""
    rule = suggestion.rule
    signed = {"suggested_by": f"{rule.pk}:{rule.version}"}
    if suggestion.action == Rule.Action.REJECT:
        return RejectForm(
            initial={"reason_text": suggestion.reason, **signed},
            labels=[],
            auto_id="id_accept_%s",
        )
    approval = suggestion.approval
    values = {
        "promo_code": approval.promo_code,
        "credit_policy": approval.credit_policy,
        "match_mode": approval.match_mode,
        "url_id": approval.url_id,
        "assigned_phone_number_id": approval.assigned_phone_number_id,
        "deal_id": approval.deal_id,
        "deal_name": approval.deal_name,
    }
    form = approval_form(tvr)
    form.auto_id = "id_accept_%s"  # beside the approve form, whose ids the keys and tester use
    form.initial = {name: values[name] for name in form.fields if name in values} | signed
    return form


SUGGESTED_BY = re.compile(r"(\d{1,12}):(\d{1,9})")


def suggested_rule(
    request: HttpRequest, tvr: TrackingValueRequest, form: Any, action: str
) -> tuple[Rule, int] | None:
    """The rule (and version) whose suggestion the reviewer confirmed: only when that rule, at
    that version, suggests exactly this decision now (the audit never records a suggestion
    that was not made)."""
    signed = SUGGESTED_BY.fullmatch(form.cleaned_data.get("suggested_by", "")[:40])
    if signed is None:
        return None
    made = rules.suggestion_for(tvr, rules.cached_enabled(current_account(request)))
    if made is None or (made.rule.pk, made.rule.version) != (int(signed[1]), int(signed[2])):
        return None
    if made.action != action:
        return None
    if action == "approve" and not rules.same_values(made.approval, form.approval()):
        return None
    return made.rule, made.rule.version


def detail_context(
    request: HttpRequest, tvr: TrackingValueRequest, **overrides: Any
) -> dict[str, Any]:
    item = impact.TrackingValueRequest.parse(tvr.payload or {})
    can_decide = can(request, "requests_app.decide_request")
    form = overrides.pop("approve_form", None)
    if form is None and tvr.is_open and can_decide:
        form = approval_form(tvr)
    check = tester = None
    if tvr.request_type == "PROMOCODE_TRACKING" and form is not None:
        tested = "check" in request.GET and not form.is_bound  # the tester without JavaScript
        if form.is_bound or tested:
            data = form.data if form.is_bound else request.GET
            source = data.dict() if hasattr(data, "dict") else dict(data)
        else:
            source = {"promo_code": form.initial.get("promo_code", ""), "match_mode": "LI"}
        check = _code_check(tvr, {**source, "samples": request.GET.get("samples", "")})
        if tested:
            form.initial.update(promo_code=check["code"], match_mode=check["mode"])
        # The tester's own fields show what it last tested (without JavaScript, its answer).
        shown = {"promo_code": check["code"], "match_mode": check["mode"]}
        tester = CodeTestForm(
            initial={**shown, "samples": check["samples"]}, check_url=code_check_url(tvr)
        )
    others = (
        TrackingValueRequest.objects.for_account(tvr.account_sid)
        .filter(media_partner_id=tvr.media_partner_id)
        .exclude(pk=tvr.pk)
        .only("impact_id", "request_type", "state", "date_placed", "approved_value")
        .order_by("-date_placed")[:8]
        if tvr.media_partner_id is not None
        else []
    )
    team = roles.team_choices(getattr(tvr, "account_now", None))
    suggestion = suggestion_form = None
    if tvr.is_open and can_decide and not overrides.get("held_by"):
        suggestion = rules.suggestion_for(tvr, rules.cached_enabled(current_account(request)))
        if suggestion is not None:
            suggestion_form = _accept_form(tvr, suggestion)
    assign_form = overrides.pop("assign_form", None) or AssignForm()
    assign_form.offer(team["reviewers"])
    decision = getattr(tvr, "live_decision", None)
    return {
        **list_context(request),
        "tvr": tvr,
        "item": item,
        "approved_values": approved_values(tvr, item),
        "deal_expired": deals.has_expired(item.deal, timezone.now()),
        "deal": deals.summarize(
            item.deal,
            partner_id=item.media_partner_id,
            partner_name=item.media_partner_name,
            date_needed=item.date_needed,
        ),
        "approve_form": form,
        "reject_form": overrides.pop("reject_form", None) or RejectForm(labels=team["reasons"]),
        "comment_form": overrides.pop("comment_form", None) or CommentForm(),
        "assign_form": assign_form,
        "check": check,
        "tester": tester,
        "credit_help": CREDIT_POLICY_HELP,
        "match_help": MATCH_MODE_HELP,
        # Read with the request (get_request_or_404); absent when there is none.
        "decision": decision,
        "pending": decision is not None and decision.status in PENDING,
        "failed": getattr(tvr, "failed_decision", None),
        "timeline": timeline(tvr),
        "others": others,
        "can_decide": can_decide,
        "suggestion": suggestion,
        "suggestion_form": suggestion_form,
        "can_claim": can(request, "requests_app.claim_request"),
        "can_comment": can(request, "requests_app.comment_request"),
        **overrides,
    }


@require_GET
@never_cache  # Back after a decision shows the request as it is now, not as it was
def request_detail(request: HttpRequest, impact_id: str) -> HttpResponse:
    tvr = get_request_or_404(request, impact_id)
    request.tvr_account = tvr.account_now  # the navigation's queue counts reuse it
    if "check" in request.GET and not can(request, "requests_app.decide_request"):
        raise PermissionDenied("Testing codes is for the roles that can approve them.")
    if request.htmx and "check" in request.GET:
        return render(
            request,
            TEMPLATE,
            {"check": _code_check(tvr, request.GET), "tvr": tvr},
            partial="code_check",
        )
    part = request.GET.get("part") if request.htmx else None
    if part == "decision":
        # The card, and with it (out of band) the state badge, timeline and queue counts.
        return render(request, TEMPLATE, detail_context(request, tvr), partial="decision_update")
    notice = notice_of(request, tvr)
    context = {"notice": notice, "notice_pending": notice is not None and notice.status in PENDING}
    if part == "notice":
        context.update(list_context(request), tvr=tvr)
        return render(request, TEMPLATE, context, partial="notice")
    return render(request, TEMPLATE, detail_context(request, tvr, **context))


def after_decision(request: HttpRequest, tvr: TrackingValueRequest, **context: Any) -> HttpResponse:
    """The answer to an action on a request's page (a decision, an undo, a claim or an
    assignment): a fragment for htmx (the card, and out of band the badge, timeline and queue
    counts; and tell the page the list changed), a redirect otherwise; with `status`, the whole
    page with that status (an error to show without JavaScript)."""
    status = context.pop("status", None)
    if not request.htmx:
        if status:
            response = render(request, TEMPLATE, detail_context(request, tvr, **context))
            response.status_code = status
            return response
        return redirect(detail_url(tvr.impact_id, list_context(request)["list_query"]))
    tvr = get_request_or_404(request, tvr.impact_id)  # as it is now, decisions included
    # The queue counts too: the account read before the decision has the old data version.
    request.tvr_account = tvr.account_now
    response = render(
        request, TEMPLATE, detail_context(request, tvr, **context), partial="decision_update"
    )
    trigger_client_event(response, "tvr:decided", {"id": tvr.impact_id})
    return response


def _advance(request: HttpRequest, tvr: TrackingValueRequest) -> HttpResponse | None:
    """After a decision that went through or waits to be sent: the same list's next open
    request, with a notice of this one (and its Undo) there. None to stay: the reviewer
    turned this off, or nothing is left in the list."""
    if not Preference.auto_advance_for(request.user):
        return None
    filters = list_context(request)
    account = current_account(request)
    following = triage.next_open(
        current=tvr,
        filters=filters["list_filters"],
        user=request.user,
        account=account,
        choices=filter_choices(account),
    )
    if following is None:
        messages.info(request, f"No open requests are left in {filters['list_label'].lower()}.")
        return None
    url = detail_url(following.impact_id, filters["list_query"], done=tvr.impact_id)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _decide(
    request: HttpRequest, tvr: TrackingValueRequest, action: str, form: Any
) -> HttpResponse:
    note, confirm = form.cleaned_data.get("note", ""), form.cleaned_data.get("confirm", False)
    try:
        if action == "approve":
            decision = decisions.approve(
                request=tvr,
                user=request.user,
                approval=form.approval(),
                note=note,
                confirm=confirm,
                suggested=suggested_rule(request, tvr, form, action),
            )
        else:
            decision = decisions.reject(
                request=tvr,
                user=request.user,
                reason=form.reason_value(),
                note=note,
                confirm=confirm,
                suggested=suggested_rule(request, tvr, form, action),
            )
    except queues.HeldByOther as held:
        return after_decision(
            request,
            tvr,
            held_by=held.holder,
            status=409,
            **{f"{action}_form": form, "confirm_action": action},
        )
    except decisions.AlreadyDecided as error:
        decisions.refresh_quietly(tvr)
        messages.warning(request, error.message)
    except decisions.DecisionError as error:
        messages.error(request, error.message)
        if request.htmx:
            return after_decision(request, tvr, **{f"{action}_form": form})
    else:
        if decision.status != Decision.Status.FAILED and (moved := _advance(request, tvr)):
            return moved
        verb = "Approval" if action == "approve" else "Rejection"
        if decision.status == Decision.Status.UNCONFIRMED:
            messages.warning(
                request,
                f"{verb} sent, but impact.com has not confirmed it yet: checking with "
                "impact.com. It is not sent again.",
            )
        elif decision.status == Decision.Status.QUEUED:
            messages.success(
                request,
                f"{verb} queued: it is sent to impact.com in a few seconds unless you undo it.",
            )
        else:
            messages.success(request, f"{verb} sent to impact.com.")
    return after_decision(request, tvr)


@require_POST
@permission_required("decide_request")
def approve(request: HttpRequest, impact_id: str) -> HttpResponse:
    tvr = get_request_or_404(request, impact_id)
    form = approval_form(tvr, request.POST)
    if form is None:
        messages.error(
            request, f"Unknown request type {tvr.request_type}; approve it in impact.com."
        )
        return after_decision(request, tvr)
    if not form.is_valid():
        return after_decision(request, tvr, approve_form=form, status=400)
    try:
        approval_problems(tvr, form, deadline=patterns.Deadline(TEST_SECONDS))
    except patterns.TooSlow:
        form.add_error("promo_code", TOO_SLOW)
    if form.errors:
        return after_decision(request, tvr, approve_form=form, status=400)
    return _decide(request, tvr, "approve", form)


@require_POST
@permission_required("decide_request")
def reject(request: HttpRequest, impact_id: str) -> HttpResponse:
    tvr = get_request_or_404(request, impact_id)
    form = RejectForm(request.POST, labels=roles.team_choices(tvr.account_now)["reasons"])
    if not form.is_valid():
        return after_decision(request, tvr, reject_form=form, status=400)
    return _decide(request, tvr, "reject", form)


@require_POST
@permission_required("decide_request")
def undo(request: HttpRequest, impact_id: str, decision_id: int) -> HttpResponse:
    tvr = get_request_or_404(request, impact_id)
    decision = get_object_or_404(Decision, pk=decision_id, request=tvr)
    try:
        undone = decisions.undo(decision=decision, user=request.user)
    except decisions.DecisionError as error:
        messages.error(request, error.message)
    else:
        if undone:
            messages.success(request, "Undone: nothing was sent to impact.com.")
        else:
            messages.warning(request, "Too late to undo: the decision was already sent.")
    return after_decision(request, tvr)
