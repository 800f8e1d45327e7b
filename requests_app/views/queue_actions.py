"""Queue actions on a request: claim, release, assign, comment; and bulk reject from the list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from requests_app import decisions, queues
from requests_app.forms import AssignForm, BulkRejectForm, CommentForm
from requests_app.models import TrackingValueRequest

from .common import account_sid, back_to, get_request_or_404, permission_required, render
from .detail import TEMPLATE as DETAIL
from .detail import after_decision, detail_context


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
        return after_decision(request, tvr)
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


@require_POST
@permission_required("claim_request")
def assign(request: HttpRequest, impact_id: str) -> HttpResponse:
    form = AssignForm(request.POST)
    if not form.is_valid():
        if request.htmx:  # the answer is the decision card; the select is outside it
            messages.error(request, form.errors["to"][0])
        tvr = get_request_or_404(request, impact_id)
        return after_decision(request, tvr, assign_form=form, status=400)
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
    elif request.htmx:  # the answer is the timeline; the form is outside it
        messages.error(request, "A comment needs some text (up to 4,000 characters).")
    else:  # the page again, the text kept and the field marked
        return after_decision(request, tvr, comment_form=form, status=400)
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
