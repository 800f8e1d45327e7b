"""Team work: claim, release, assign, comment, bulk reject, saved views, rejection reasons,
audit, team page."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from requests_app import decisions, queues, reports
from requests_app.forms import BulkRejectForm, CommentForm, SavedViewForm
from requests_app.models import (
    Account,
    AuditEvent,
    RejectionReason,
    SavedView,
    TrackingValueRequest,
)

from .common import (
    account_sid,
    back_to,
    can,
    get_request_or_404,
    permission_required,
    render,
)
from .detail import TEMPLATE as DETAIL
from .detail import _after_decision, detail_context


def _queue_action(
    request: HttpRequest, impact_id: str, name: str, action, **confirm_fields: Any
) -> HttpResponse:
    """Run action(tvr, confirm); when someone else holds the request, ask to confirm `name`
    (the same action, with confirm_fields, e.g. who to assign it to)."""
    tvr = get_request_or_404(request, impact_id)
    confirm = request.POST.get("confirm") == "1"
    try:
        action(tvr, confirm)
    except queues.HeldByOther as held:
        context = detail_context(
            request,
            tvr,
            held_by=held.holder,
            confirm_action=name,
            confirm_view=f"requests:{name}",
            confirm_fields=confirm_fields,
        )
        if request.htmx:
            return render(request, DETAIL, context, partial="decision")
        response = render(request, DETAIL, context)
        response.status_code = 409
        return response
    except queues.QueueError as error:
        messages.error(request, error.message)
    if request.htmx:
        return _after_decision(request, tvr)
    return back_to(request, "requests:detail", tvr.impact_id)


@require_POST
@permission_required("claim_request")
def claim(request: HttpRequest, impact_id: str) -> HttpResponse:
    def act(tvr, confirm):
        queues.claim(request=tvr, user=request.user, confirm=confirm)
        messages.success(request, f"You hold request {tvr.impact_id}.")

    return _queue_action(request, impact_id, "claim", act)


@require_POST
@permission_required("claim_request")
def release(request: HttpRequest, impact_id: str) -> HttpResponse:
    def act(tvr, confirm):
        queues.release(request=tvr, user=request.user, confirm=confirm)
        messages.success(request, f"Request {tvr.impact_id} is back in the unassigned queue.")

    return _queue_action(request, impact_id, "release", act)


class AssignForm(forms.Form):
    """Who to hand a request to: any active user (queues.assign says when they cannot review)."""

    to = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True))


@require_POST
@permission_required("claim_request")
def assign(request: HttpRequest, impact_id: str) -> HttpResponse:
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a teammate to assign it to.")
        return _after_decision(request, get_request_or_404(request, impact_id), status=400)
    to = form.cleaned_data["to"]

    def act(tvr, confirm):
        queues.assign(request=tvr, to=to, user=request.user, confirm=confirm)
        messages.success(request, f"Assigned to {to.get_username()}.")

    return _queue_action(request, impact_id, "assign", act, to=to.pk)


@require_POST
@permission_required("comment_request")
def comment(request: HttpRequest, impact_id: str) -> HttpResponse:
    tvr = get_request_or_404(request, impact_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            queues.comment(request=tvr, user=request.user, body=form.cleaned_data["body"])
        except queues.QueueError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "A comment needs some text (up to 4,000 characters).")
    if request.htmx:
        return render(request, DETAIL, detail_context(request, tvr), partial="timeline")
    return redirect("requests:detail", tvr.impact_id)


@require_POST
@permission_required("decide_request")
def bulk_reject(request: HttpRequest) -> HttpResponse:
    """Reject several open requests: one confirmation, one decision and audit event each."""
    form = BulkRejectForm(request.POST)
    ids = [i for i in request.POST.getlist("ids") if i.strip()][:200]
    if not ids or not form.is_valid():
        messages.error(request, "Select at least one open request to reject.")
        return back_to(request, "requests:list")
    rows = TrackingValueRequest.objects.for_account(account_sid(request)).filter(impact_id__in=ids)
    done, problems = 0, []
    for tvr in rows:
        try:
            decisions.reject(
                request=tvr,
                user=request.user,
                reason=form.cleaned_data["reason"],
                confirm=request.POST.get("confirm") == "1",
            )
            done += 1
        except (decisions.DecisionError, queues.QueueError) as error:
            problems.append(f"{tvr.impact_id}: {error.message}")
    if done:
        messages.success(request, f"Rejected {done} request{'s' if done != 1 else ''}.")
    for problem in problems[:10]:
        messages.warning(request, problem)
    if request.htmx:
        return HttpResponseClientRefresh()
    return back_to(request, "requests:list")


@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        can_share = can(request, "requests_app.claim_request")
        SavedView.objects.update_or_create(
            owner=request.user,
            name=data["name"],
            defaults={"query": data["query"].lstrip("?"), "shared": data["shared"] and can_share},
        )
        messages.success(request, f"Saved view “{data['name']}”.")
        return redirect(f"{reverse('requests:list')}?{data['query'].lstrip('?')}")
    messages.error(request, "Give the view a name (up to 80 characters).")
    return redirect("requests:list")


@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=view_id)
    if view.owner_id != request.user.pk and not can(request, "requests_app.delete_savedview"):
        raise PermissionDenied("Only its owner or an admin can delete a saved view.")
    view.delete()
    messages.success(request, f"Deleted saved view “{view.name}”.")
    return redirect("requests:list")


# --- rejection reasons ------------------------------------------------------------------------


class ReasonForm(forms.ModelForm):
    class Meta:
        model = RejectionReason
        fields = ["label"]
        labels = {"label": "New reason"}


def _reasons_page(request: HttpRequest, form: ReasonForm, *, error: str = "") -> HttpResponse:
    response = render(
        request,
        "requests_app/reasons.html",
        {"form": form, "reasons": RejectionReason.objects.all(), "error": error},
    )
    if form.errors or error:
        response.status_code = 400
    return response


@require_http_methods(["GET", "POST"])
@permission_required("change_rejectionreason")
def reasons(request: HttpRequest) -> HttpResponse:
    """The short list of reasons reviewers pick from when rejecting; the admin keeps it."""
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.save(commit=False)
        reason.position = RejectionReason.objects.count() + 1
        reason.save()
        messages.success(request, f"Added the reason “{reason.label}”.")
        return redirect("requests:reasons")
    return _reasons_page(request, form)


class ChangeReasonForm(forms.Form):
    """What the reasons page's buttons send: a move, or nothing (hide or offer again)."""

    move = forms.ChoiceField(
        required=False, choices=[("", "hide or offer again"), ("up", "up"), ("down", "down")]
    )


@require_POST
@permission_required("change_rejectionreason")
def change_reason(request: HttpRequest, reason_id: int) -> HttpResponse:
    """Hide or show a reason, or move it up or down the list (decisions keep their text)."""
    reason = get_object_or_404(RejectionReason, pk=reason_id)
    change = ChangeReasonForm(request.POST)
    if not change.is_valid():
        return _reasons_page(
            request, ReasonForm(), error="Move a reason “up” or “down”; nothing was changed."
        )
    move = change.cleaned_data["move"]
    if move:
        ordered = list(RejectionReason.objects.all())
        at = ordered.index(reason)
        to = at - 1 if move == "up" else at + 1
        if 0 <= to < len(ordered):
            ordered[at], ordered[to] = ordered[to], ordered[at]
        for position, each in enumerate(ordered, start=1):
            each.position = position
        RejectionReason.objects.bulk_update(ordered, ["position"])
        Account.team_changed()  # bulk_update sends no signal
    else:
        reason.active = not reason.active
        reason.save(update_fields=["active"])
        shown = "offered again" if reason.active else "hidden from the reject form"
        messages.success(request, f"“{reason.label}” is {shown}.")
    return redirect("requests:reasons")


# --- audit ------------------------------------------------------------------------------------


AUDIT_ACTIONS = (
    "approve",
    "reject",
    "approve_queued",
    "reject_queued",
    "approve_undone",
    "reject_undone",
    "claim",
    "release",
    "assign",
    "comment",
    "sync",
    "sign_in",
    "sign_in_failed",
    "sign_out",
)


class AuditFilterForm(forms.Form):
    person = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *((a, a) for a in AUDIT_ACTIONS)]
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AuditEvent.Outcome.choices]
    )
    account = forms.CharField(required=False, max_length=64)
    request_id = forms.CharField(label="Request", required=False, max_length=32)
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)
    # The page's cursor: the id of the last event shown (BigAutoField's range).
    before = forms.IntegerField(
        label="Older than", required=False, min_value=1, max_value=2**63 - 1
    )


def visible_accounts(request: HttpRequest) -> list[str]:
    """Whose events the user may read: the account this deployment reviews (the rule of the
    list and detail pages), and events of no account (sign-ins)."""
    return [account_sid(request), ""]


def audit_events(request: HttpRequest) -> tuple[AuditFilterForm, object]:
    """The filter form and the events it selects, never outside visible_accounts. Fields that
    do not validate are left out here; the views answer 400 and show why."""
    form = AuditFilterForm(request.GET)
    form.is_valid()
    data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors and v}
    events = AuditEvent.objects.filter(account_sid__in=visible_accounts(request))
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
    shown = events.order_by("-id").values_list("id", *AUDIT_ROW_COLUMNS, named=True)
    page = list(shown[:101])
    more = len(page) > 100
    page = page[:100]
    params = request.GET.copy()
    params.pop("before", None)
    context = {
        "form": form,
        "events": page,
        "next_before": page[-1].id if more else None,
        "export_query": params.urlencode(),
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
        response = render(request, "requests_app/audit.html", {"form": form})
        response.status_code = 400
        return response
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        reports.audit_csv(events), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="tvr-audit-{stamp}.csv"'
    return response


@require_GET
def team(request: HttpRequest) -> HttpResponse:
    sid = account_sid(request)
    days = 30
    since = timezone.now() - timedelta(days=days)
    stats = reports.reviewer_stats(sid, since=since)
    ages = reports.open_by_age(sid)
    context = {
        "days": days,
        "stats": stats,
        "decision_bars": reports.bars([(s.name, s.total) for s in stats]),
        "ages": ages,
        "age_bars": reports.bars(ages),
        "median_hours": reports.median_decision_hours(sid, since=since),
        "audit_link": "?" + urlencode({"since": since.date().isoformat()}),
    }
    return render(request, "requests_app/team.html", context)
