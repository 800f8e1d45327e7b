"""Approve and reject: one decision per request, whatever happens.

A decision claims the request's single live slot (a partial unique index on Decision), then
calls impact.com outside any transaction, then records the outcome and its audit event in one
transaction. A double click, a second tab or a second reviewer hits the unique index and is
told who decided and when; impact.com is called once. A failed call frees the slot, leaves the
request as it was, and leaves an audit event; nothing is ever re-sent automatically.

impact.com cannot un-approve, so with TVR_DECISION_DELAY_SECONDS > 0 a decision is first
queued (Undo is possible), and the task worker sends it when it is due. The move from queued
to sending is one conditional UPDATE, so Undo and the worker can never both win.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from requests_app import audit, impact, roles, sync
from requests_app.models import AuditEvent, Decision, State, TrackingValueRequest
from requests_app.queues import HeldByOther

logger = logging.getLogger(__name__)

DECIDED_STATE = {Decision.Action.APPROVE: State.APPROVED, Decision.Action.REJECT: State.DECLINED}


class DecisionError(Exception):
    """Base of every reason a decision did not go through; `message` is for the reviewer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(DecisionError):
    pass


class AlreadyDecided(DecisionError):
    """Someone (here or in impact.com) decided first."""

    def __init__(self, message: str, *, by: str = "", at: datetime | None = None) -> None:
        super().__init__(message)
        self.by = by
        self.at = at


class ImpactFailed(DecisionError):
    """impact.com refused or could not be reached; the request is as it was."""

    def __init__(self, message: str, *, error: impact.ImpactError) -> None:
        super().__init__(message)
        self.error = error


def approve(
    *,
    request: TrackingValueRequest,
    user: Any,
    approval: impact.Approval,
    note: str = "",
    confirm: bool = False,
) -> Decision:
    """Approve with the type-specific values: queued for Undo, or sent at once with no delay."""
    try:
        sent = approval.form_data()
    except impact.InvalidApproval as error:
        raise DecisionError(error.message) from None
    decision = _claim(request, user, Decision.Action.APPROVE, sent=sent, note=note, confirm=confirm)
    return _send_or_schedule(decision, approval=approval)


def reject(
    *,
    request: TrackingValueRequest,
    user: Any,
    reason: str = "",
    note: str = "",
    confirm: bool = False,
) -> Decision:
    """Reject (impact.com takes no reason; ours is kept with the decision and the audit)."""
    decision = _claim(
        request, user, Decision.Action.REJECT, sent={}, reason=reason, note=note, confirm=confirm
    )
    return _send_or_schedule(decision)


def _send_or_schedule(decision: Decision, approval: impact.Approval | None = None) -> Decision:
    if decision.status == Decision.Status.SENDING:
        return send(decision, approval=approval)
    from requests_app.tasks import send_decision_task

    task = send_decision_task
    if task.get_backend().supports_defer:
        task = task.using(run_after=decision.send_after)
    transaction.on_commit(lambda: task.enqueue(decision.pk))
    return decision


def undo(*, decision: Decision, user: Any) -> bool:
    """Take back a queued decision before it is sent; False when it is too late."""
    if decision.decided_by_id != user.pk and roles.role_of(user) != roles.ADMIN:
        raise NotAllowed("Only the person who made a decision can undo it.")
    with transaction.atomic():
        taken_back = Decision.objects.filter(pk=decision.pk, status=Decision.Status.QUEUED).update(
            status=Decision.Status.UNDONE, finished_at=timezone.now()
        )
        if taken_back:
            decision.refresh_from_db()
            _audit(decision, AuditEvent.Outcome.INFO, status=None, message="", action="undone")
    return bool(taken_back)


def send_queued(decision_id: int) -> Decision | None:
    """The worker's side: send a queued decision once it is due, unless it was undone."""
    decision = Decision.objects.select_related("request", "decided_by").get(pk=decision_id)
    wait = (decision.send_after - timezone.now()).total_seconds()
    if decision.status == Decision.Status.QUEUED and wait > 0:
        # A backend that cannot defer ran us early: the delay is short, so wait it out.
        time.sleep(min(wait, 60))
    if not Decision.objects.filter(
        pk=decision_id, status=Decision.Status.QUEUED, send_after__lte=timezone.now()
    ).update(status=Decision.Status.SENDING):
        return None
    decision.refresh_from_db()
    try:
        return send(decision)
    except DecisionError as error:
        logger.info("Queued decision %s failed: %s", decision_id, error.message)
        decision.refresh_from_db()
        return decision


def send_due(now: datetime | None = None) -> int:
    """Send every queued decision that is due (a safety net for a missed task)."""
    due = Decision.objects.filter(
        status=Decision.Status.QUEUED, send_after__lte=now or timezone.now()
    ).values_list("pk", flat=True)
    return sum(send_queued(pk) is not None for pk in list(due))


def with_live_and_failed(requests: QuerySet) -> QuerySet:
    """Each request with its live decision and latest failed attempt joined in, as
    `live_decision` and `failed_decision` (absent when there is none): no query of their own.
    The live one is unique per request (a constraint), so the join never repeats a request."""
    latest_failed = (
        Decision.objects.filter(request=OuterRef("pk"), status=Decision.Status.FAILED)
        .order_by("-created_at")
        .values("pk")[:1]
    )
    return requests.annotate(
        live_decision=FilteredRelation(
            "decisions", condition=Q(decisions__status__in=Decision.LIVE)
        ),
        failed_decision=FilteredRelation(
            "decisions", condition=Q(decisions__pk=Subquery(latest_failed))
        ),
    ).select_related("live_decision__decided_by", "failed_decision__decided_by")


def live_decision(request: TrackingValueRequest) -> Decision | None:
    return (
        Decision.objects.filter(request=request, status__in=Decision.LIVE)
        .select_related("decided_by")
        .first()
    )


def _claim(
    request: TrackingValueRequest,
    user: Any,
    action: str,
    *,
    sent: dict[str, str],
    reason: str = "",
    note: str = "",
    confirm: bool = False,
) -> Decision:
    if not user.has_perm("requests_app.decide_request"):
        raise NotAllowed("Your role cannot approve or reject requests.")
    delay = settings.TVR_DECISION_DELAY_SECONDS
    try:
        with transaction.atomic():
            current = (
                TrackingValueRequest.objects.select_for_update(of=("self",))
                .select_related("assigned_to")
                .get(pk=request.pk)
            )
            if not current.is_open:
                raise _already_decided(current)
            holder = current.assigned_to
            if holder is not None and holder.pk != user.pk and not confirm:
                raise HeldByOther(holder.get_username())
            decision = Decision.objects.create(
                request=current,
                action=action,
                status=Decision.Status.QUEUED if delay else Decision.Status.SENDING,
                send_after=timezone.now() + timedelta(seconds=delay),
                sent=sent,
                reason=reason[:200],
                note=note,
                decided_by=user,
                overrode_holder=holder.get_username() if holder and holder.pk != user.pk else "",
            )
            if delay:
                _audit(
                    decision, AuditEvent.Outcome.PENDING, status=None, message="", action="queued"
                )
            return decision
    except IntegrityError:
        raise _already_decided(request) from None


def _already_decided(request: TrackingValueRequest) -> AlreadyDecided:
    existing = live_decision(request)
    if existing is not None:
        who = existing.decided_by.get_username()
        verb = "approved" if existing.action == Decision.Action.APPROVE else "rejected"
        when = timezone.localtime(existing.created_at)
        return AlreadyDecided(
            f"{who} already {verb} this request at {when:%Y-%m-%d %H:%M}.",
            by=who,
            at=existing.created_at,
        )
    state = request.get_state_display().lower() if not request.is_gone else "removed"
    return AlreadyDecided(
        f"This request is already {state} in impact.com.", at=request.date_completed
    )


def send(decision: Decision, *, approval: impact.Approval | None = None) -> Decision:
    """Call impact.com once for a claimed decision and record what happened."""
    request = decision.request
    client = impact.get_client(request.account_sid)
    try:
        if decision.action == Decision.Action.APPROVE:
            approval = approval or _approval_from(decision)
            client.approve(request.impact_id, approval)
        else:
            client.reject(request.impact_id)
    except impact.ImpactError as error:
        _record_failure(decision, error)
        refreshed = refresh_quietly(request, client)
        raise ImpactFailed(_failure_message(decision, error, refreshed), error=error) from None
    finally:
        sync.note_rate_limit(request.account_sid, client.last_rate_limit)

    with transaction.atomic():
        decision.status = Decision.Status.SENT
        decision.finished_at = timezone.now()
        decision.response_status = 200
        decision.save(update_fields=["status", "finished_at", "response_status"])
        _audit(decision, AuditEvent.Outcome.SUCCESS, status=200, message="OK")
    if refresh_quietly(request, client) is None:
        sync.mark_decided(request, DECIDED_STATE[decision.action])
    return decision


def _approval_from(decision: Decision) -> impact.Approval:
    sent = decision.sent

    def number(key: str) -> int | None:
        return int(sent[key]) if sent.get(key) else None

    return impact.Approval(
        request_type=decision.request.request_type,
        promo_code=sent.get("PromoCode", ""),
        credit_policy=sent.get("CreditPolicy", ""),
        match_mode=sent.get("MatchMode", ""),
        url_id=number("UrlId"),
        assigned_phone_number_id=number("AssignedPhoneNumberId"),
        deal_id=number("DealId"),
        deal_name=sent.get("DealName", ""),
    )


def _record_failure(decision: Decision, error: impact.ImpactError) -> None:
    message = error.detail if isinstance(error, impact.Rejected) else error.message
    with transaction.atomic():
        decision.status = Decision.Status.FAILED
        decision.finished_at = timezone.now()
        decision.response_status = error.status
        decision.response_message = message
        decision.save(
            update_fields=["status", "finished_at", "response_status", "response_message"]
        )
        outcome = (
            AuditEvent.Outcome.CONFLICT
            if isinstance(error, impact.Rejected)
            else AuditEvent.Outcome.FAILURE
        )
        _audit(
            decision,
            outcome,
            status=error.status,
            message=message,
            detail={
                "error": type(error).__name__,
                "maybe_sent": getattr(error, "maybe_sent", False),
            },
        )


def refresh_quietly(
    request: TrackingValueRequest, client: impact.ImpactClient | None = None
) -> TrackingValueRequest | None:
    """Re-read the request so the page shows the truth; a failure here changes nothing."""
    try:
        return sync.refresh_one(request.account_sid, request.impact_id, client=client, retries=0)
    except impact.ImpactError:
        return None


def _failure_message(
    decision: Decision, error: impact.ImpactError, refreshed: TrackingValueRequest | None
) -> str:
    verb = "approve" if decision.action == Decision.Action.APPROVE else "reject"
    if refreshed is not None and not refreshed.is_open:
        return (
            f"impact.com says this request is already {refreshed.get_state_display().lower()}"
            f" (decided outside this dashboard). {error.message}"
        )
    if isinstance(error, impact.Rejected):
        return f"impact.com refused to {verb} this request: {error.detail}"
    if isinstance(error, impact.RateLimited):
        return f"impact.com is rate-limiting this account; nothing was sent. {error.message}"
    if isinstance(error, impact.Unavailable) and error.maybe_sent:
        return (
            f"{error.message} impact.com may or may not have received the {verb}; the request "
            "still shows as new here. Check it again before retrying."
        )
    return f"Could not {verb}: {error.message} Nothing was changed; you can try again."


def _audit(
    decision: Decision,
    outcome: str,
    *,
    status: int | None,
    message: str,
    detail: dict[str, Any] | None = None,
    action: str = "",
) -> AuditEvent:
    """The decision's audit event: `approve`/`reject`, or e.g. `approve_queued`."""
    request = decision.request
    extra = {"held_by": decision.overrode_holder} if decision.overrode_holder else {}
    return audit.record(
        action=f"{decision.action}_{action}" if action else decision.action,
        outcome=outcome,
        actor=decision.decided_by,
        account_sid=request.account_sid,
        request_impact_id=request.impact_id,
        sent=decision.sent,
        response_status=status,
        response_message=message,
        detail={"decision": decision.pk, "reason": decision.reason, "note": decision.note}
        | extra
        | (detail or {}),
    )


def recover_stuck(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Settle decisions left `sending` by a process that died mid-call.

    impact.com is asked what became of the request: decided means the call landed (sent),
    still open means it did not (failed, so the slot is free for a retry by hand).
    """
    cutoff = timezone.now() - older_than
    stuck = Decision.objects.filter(status=Decision.Status.SENDING, created_at__lt=cutoff)
    settled = 0
    for decision in stuck.select_related("request", "decided_by"):
        try:
            row = sync.refresh_one(decision.request.account_sid, decision.request.impact_id)
        except impact.ImpactError:
            continue  # impact.com cannot say yet; try again on the next sweep
        landed = row is not None and row.state == DECIDED_STATE[decision.action]
        with transaction.atomic():
            if not Decision.objects.filter(pk=decision.pk, status=Decision.Status.SENDING).update(
                status=Decision.Status.SENT if landed else Decision.Status.FAILED,
                finished_at=timezone.now(),
                response_message="" if landed else "Interrupted before impact.com answered.",
            ):
                continue
            decision.refresh_from_db()
            _audit(
                decision,
                AuditEvent.Outcome.SUCCESS if landed else AuditEvent.Outcome.FAILURE,
                status=None,
                message="Recovered: impact.com shows the request "
                + (row.get_state_display().lower() if row else "removed"),
                detail={"recovered": True},
            )
        settled += 1
    return settled
