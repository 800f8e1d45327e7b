"""Approve and reject: one decision per request, whatever happens.

A decision claims the request's single live slot (a partial unique index on Decision), then
calls impact.com outside any transaction, then records the outcome and its audit event in one
transaction. A double click, a second tab or a second reviewer hits the unique index and is
told who decided and when; impact.com is called once. A refused call frees the slot, leaves the
request as it was, and leaves an audit event; nothing is ever re-sent automatically.

A call whose outcome is unknown (a timeout or broken connection after sending, a 5xx, a 2xx
that is not the documented confirmation, impact.com's own `QueuedUri`, a sender that died) is
*unconfirmed*: it keeps the slot, and re-reads of the request (at once, then with backoff, and
after every sync) settle it to impact.com's truth: decided as asked means sent; still new after
a clean answer means failed, and the slot is free for a retry by hand. Nothing is guessed.

impact.com cannot un-approve, so with TVR_DECISION_DELAY_SECONDS > 0 a decision is first
queued (Undo is possible), and the task worker sends it when it is due. The move from queued
to sending is one conditional UPDATE, so Undo and the worker can never both win.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from requests_app import audit, impact, roles, sync
from requests_app.models import AuditEvent, Decision, Rule, State, TrackingValueRequest
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

    def __init__(self, message: str, *, error: impact.ImpactError | None = None) -> None:
        super().__init__(message)
        self.error = error


# Re-reads of an unconfirmed decision after the first: seconds to wait, then the last forever.
CHECK_BACKOFF = (5, 15, 30, 60, 120, 300, 900)
# Share of the interactive budget the write may use; the rest is kept for the re-read.
WRITE_SHARE = 0.7


class RuleStopped(DecisionError):
    """A rule may not decide this request now (see rules.py: its guard said why)."""


def approve(
    *,
    request: TrackingValueRequest,
    user: Any = None,
    approval: impact.Approval,
    note: str = "",
    confirm: bool = False,
    rule: Rule | None = None,
    guard: Callable[[TrackingValueRequest], None] | None = None,
    suggested: tuple[Rule, int] | None = None,
) -> Decision:
    """Approve with the type-specific values: queued for Undo, or sent at once with no delay.
    A person approves as `user` (confirming what rule `suggested`, at that version, if it
    did); a rule as `rule`, whose `guard` runs inside the claim's transaction (the kill
    switch, its version, its quota) and raises RuleStopped to back out."""
    try:
        sent = approval.form_data()
    except impact.InvalidApproval as error:
        raise DecisionError(error.message) from None
    decision = _claim(
        request,
        user,
        Decision.Action.APPROVE,
        sent=sent,
        note=note,
        confirm=confirm,
        rule=rule,
        guard=guard,
        suggested=suggested,
    )
    return _send_or_schedule(decision, approval=approval)


def reject(
    *,
    request: TrackingValueRequest,
    user: Any = None,
    reason: str = "",
    note: str = "",
    confirm: bool = False,
    rule: Rule | None = None,
    guard: Callable[[TrackingValueRequest], None] | None = None,
    suggested: tuple[Rule, int] | None = None,
) -> Decision:
    """Reject (impact.com takes no reason; ours is kept with the decision and the audit)."""
    decision = _claim(
        request,
        user,
        Decision.Action.REJECT,
        sent={},
        reason=reason,
        note=note,
        confirm=confirm,
        rule=rule,
        guard=guard,
        suggested=suggested,
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
    """Take back a queued decision before it is sent; False when it is too late. A rule's
    decision may be taken back by anyone who may decide on the account."""
    sid = decision.request.account_sid
    if decision.rule_id is not None:
        allowed = roles.may(user, roles.DECIDE, sid)
    else:
        allowed = decision.decided_by_id == user.pk or roles.role_on(user, sid) == roles.ADMIN
    if not allowed:
        raise NotAllowed("Only the person who made a decision can undo it.")
    return take_back(decision, by=user)


def take_back(decision: Decision, *, by: Any = None, why: str = "") -> bool:
    """Undo a queued decision if it is still queued (one conditional update, so the sender
    and the Undo can never both win), with its audit event; False when it is too late."""
    with transaction.atomic():
        taken_back = Decision.objects.filter(pk=decision.pk, status=Decision.Status.QUEUED).update(
            status=Decision.Status.UNDONE, finished_at=timezone.now()
        )
        if taken_back:
            decision.refresh_from_db()
            _audit(
                decision,
                AuditEvent.Outcome.INFO,
                status=None,
                message=why,
                action="undone",
                detail={"undone_by": by.get_username()} if by is not None else {},
            )
    return bool(taken_back)


def send_queued(decision_id: int) -> Decision | None:
    """The worker's side: send a queued decision once it is due, unless it was undone."""
    decision = Decision.objects.select_related("request", "decided_by", "rule").get(pk=decision_id)
    wait = (decision.send_after - timezone.now()).total_seconds()
    if decision.status == Decision.Status.QUEUED and wait > 0:
        # A backend that cannot defer ran us early: the delay is short, so wait it out.
        time.sleep(min(wait, 60))
    if decision.rule_id is not None and not _rule_still_acts(decision):
        take_back(decision, why="Its rule was stopped, turned off or changed before it was sent.")
        return None
    if not Decision.objects.filter(
        pk=decision_id, status=Decision.Status.QUEUED, send_after__lte=timezone.now()
    ).update(status=Decision.Status.SENDING, lease_until=_lease_end()):
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


def _lease_end() -> datetime:
    """How long a sender may hold a decision in `sending` before the sweep takes it over: the
    interactive budget (the call and its re-read end within it) and a margin."""
    return timezone.now() + timedelta(
        seconds=settings.IMPACT_INTERACTIVE_TIMEOUT + settings.TVR_DECISION_LEASE_MARGIN_SECONDS
    )


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
    ).select_related(
        "live_decision__decided_by",
        "live_decision__rule",
        "failed_decision__decided_by",
        "failed_decision__rule",
    )


def live_decision(request: TrackingValueRequest) -> Decision | None:
    return (
        Decision.objects.filter(request=request, status__in=Decision.LIVE)
        .select_related("decided_by", "rule")
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
    rule: Rule | None = None,
    guard: Callable[[TrackingValueRequest], None] | None = None,
    suggested: tuple[Rule, int] | None = None,
) -> Decision:
    if rule is None and not roles.may(user, roles.DECIDE, request.account_sid):
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
            if holder is not None and (rule is not None or (holder.pk != user.pk and not confirm)):
                raise HeldByOther(holder.get_username())  # a rule never takes a held request
            if guard is not None:
                guard(current)
            decision = Decision.objects.create(
                request=current,
                action=action,
                status=Decision.Status.QUEUED if delay else Decision.Status.SENDING,
                lease_until=None if delay else _lease_end(),
                send_after=timezone.now() + timedelta(seconds=delay),
                sent=sent,
                reason=reason[:200],
                note=note,
                decided_by=user if rule is None else None,
                rule=rule,
                rule_version=rule.version if rule is not None else None,
                suggested_by=suggested[0] if suggested else None,
                suggested_version=suggested[1] if suggested else None,
                overrode_holder=holder.get_username()
                if holder and rule is None and holder.pk != user.pk
                else "",
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
        who = existing.decider
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
    """Call impact.com once for a claimed decision and record what happened, all within
    IMPACT_INTERACTIVE_TIMEOUT (the re-read included): sent, unconfirmed, or failed."""
    request = decision.request
    client = impact.get_client(request.account_sid)
    budget = impact.Deadline(settings.IMPACT_INTERACTIVE_TIMEOUT)
    write = impact.Deadline(settings.IMPACT_INTERACTIVE_TIMEOUT * WRITE_SHARE)
    try:
        if decision.action == Decision.Action.APPROVE:
            approval = approval or _approval_from(decision)
            answer = client.approve(request.impact_id, approval, deadline=write)
        else:
            answer = client.reject(request.impact_id, deadline=write)
    except impact.OutcomeUnknown as error:
        _record_unconfirmed(decision, message=error.message, status=error.status)
        return _settle_now(decision, client, budget)
    except impact.ImpactError as error:
        _record_failure(decision, error)
        _tell_rules(decision, error)
        refreshed = refresh_quietly(request, client, deadline=budget)
        raise ImpactFailed(_failure_message(decision, error, refreshed), error=error) from None
    finally:
        sync.note_rate_limit(request.account_sid, client.last_rate_limit)

    if answer.queued:
        _record_unconfirmed(
            decision,
            message="impact.com queued the call to apply it later.",
            status=200,
            queued_uri=answer.uri,
        )
        return _settle_now(decision, client, budget)
    with transaction.atomic():
        decision.status = Decision.Status.SENT
        decision.finished_at = timezone.now()
        decision.response_status = 200
        decision.lease_until = None
        decision.save(update_fields=["status", "finished_at", "response_status", "lease_until"])
        _audit(decision, AuditEvent.Outcome.SUCCESS, status=200, message="OK")
    _tell_rules(decision)
    if refresh_quietly(request, client, deadline=budget) is None:
        sync.mark_decided(request, DECIDED_STATE[decision.action])
    return decision


def _rule_still_acts(decision: Decision) -> bool:
    from requests_app import rules  # rules decide through this module

    return rules.still_acts(decision)


def _tell_rules(decision: Decision, error: impact.ImpactError | None = None) -> None:
    """A rule's decision went through, or impact.com refused it: rules.py keeps the streak of
    refusals that pauses the account's rules."""
    if decision.rule_id is None:
        return
    from requests_app import rules  # rules decide through this module

    rules.note_outcome(decision, error)


def _settle_now(decision: Decision, client: impact.ImpactClient, budget: impact.Deadline):
    """Re-read at once, within what is left of the reviewer's wait; if that cannot tell, the
    worker keeps asking. Raises ImpactFailed when impact.com shows the call did not land."""
    if not budget.passed:
        decision = settle(decision, client=client, deadline=budget)
    if decision.status == Decision.Status.FAILED:
        raise ImpactFailed(decision.response_message)
    if decision.status == Decision.Status.UNCONFIRMED:
        _schedule_settle(decision)
    return decision


def _record_unconfirmed(
    decision: Decision, *, message: str, status: int | None, queued_uri: str = ""
) -> None:
    """The call left and its outcome is not known: keep the slot, audit the attempt as such."""
    with transaction.atomic():
        decision.status = Decision.Status.UNCONFIRMED
        decision.finished_at = timezone.now()
        decision.next_check_at = timezone.now()
        decision.lease_until = None
        decision.response_status = status
        decision.response_message = message
        decision.queued_uri = queued_uri[:500]
        decision.attempt_event = _audit(
            decision,
            AuditEvent.Outcome.PENDING if queued_uri else AuditEvent.Outcome.UNKNOWN,
            status=status,
            message=message,
            detail={"queued_uri": queued_uri} if queued_uri else {"outcome_unknown": True},
        )
        decision.save(
            update_fields=[
                "status",
                "finished_at",
                "next_check_at",
                "lease_until",
                "response_status",
                "response_message",
                "queued_uri",
                "attempt_event",
            ]
        )


def _schedule_settle(decision: Decision) -> None:
    from requests_app.tasks import settle_decision_task

    task = settle_decision_task
    if task.get_backend().supports_defer and decision.next_check_at:
        task = task.using(run_after=decision.next_check_at)
    transaction.on_commit(lambda: task.enqueue(decision.pk))


def settle(
    decision: Decision,
    *,
    client: impact.ImpactClient | None = None,
    deadline: impact.Deadline | None = None,
) -> Decision:
    """Ask impact.com what became of an unconfirmed decision and record its answer: decided as
    asked is sent; still new is failed (unless impact.com queued it: then it is still coming);
    decided otherwise or removed is failed, with what impact.com shows. No answer: ask later."""
    request = decision.request
    try:
        row = sync.refresh_one(
            request.account_sid, request.impact_id, client=client, retries=0, deadline=deadline
        )
    except impact.ImpactError as error:
        _check_later(decision, error.message)
        return decision
    return _settle_to(decision, row)


def _settle_to(decision: Decision, row: TrackingValueRequest | None) -> Decision:
    """Record what impact.com's fresh state of the request says of the decision."""
    verb = "approve" if decision.action == Decision.Action.APPROVE else "reject"
    if row is not None and row.state == DECIDED_STATE[decision.action]:
        status, outcome = Decision.Status.SENT, AuditEvent.Outcome.SUCCESS
        message = f"Settled: impact.com shows the request {row.get_state_display().lower()}."
    elif row is not None and row.state == State.NEW:
        if decision.queued_uri and not _queued_too_long(decision):
            _check_later(decision, "impact.com has queued it and not applied it yet.")
            return decision
        status, outcome = Decision.Status.FAILED, AuditEvent.Outcome.FAILURE
        message = (
            f"impact.com did not apply the {verb}: it still shows the request as new. Nothing "
            "was changed; you can try again."
        )
    else:
        shown = row.get_state_display().lower() if row is not None else "removed"
        status, outcome = Decision.Status.FAILED, AuditEvent.Outcome.CONFLICT
        message = f"impact.com shows the request {shown}, not what this {verb} asked for."
    with transaction.atomic():
        if not Decision.objects.filter(pk=decision.pk, status=Decision.Status.UNCONFIRMED).update(
            status=status, response_message=message, next_check_at=None
        ):
            decision.refresh_from_db()
            return decision  # someone else settled it first
        decision.refresh_from_db()
        _audit(
            decision,
            outcome,
            status=None,
            message=message,
            action="settled",
            detail={"attempt_event": decision.attempt_event_id, "checks": decision.checks + 1},
        )
    return decision


def _queued_too_long(decision: Decision) -> bool:
    age = timezone.now() - (decision.finished_at or decision.created_at)
    return age > timedelta(hours=settings.TVR_QUEUED_PATIENCE_HOURS)


def _check_later(decision: Decision, why: str) -> None:
    """impact.com could not say yet: the next re-read after a growing wait."""
    wait = CHECK_BACKOFF[min(decision.checks, len(CHECK_BACKOFF) - 1)]
    decision.checks = min(decision.checks + 1, 32_000)
    decision.next_check_at = timezone.now() + timedelta(seconds=wait)
    Decision.objects.filter(pk=decision.pk, status=Decision.Status.UNCONFIRMED).update(
        checks=decision.checks, next_check_at=decision.next_check_at
    )
    logger.info("Decision %s still unconfirmed (%s); next check in %ss", decision.pk, why, wait)


def waiting_on(account_sid: str) -> dict[str, datetime]:
    """The account's unconfirmed decisions: request id -> when the attempt ended. A sync that
    reads one of these requests after that time settles the decision (settle_from_sync)."""
    return dict(
        Decision.objects.filter(
            status=Decision.Status.UNCONFIRMED, request__account_sid=account_sid
        ).values_list("request__impact_id", "finished_at")
    )


def settle_from_sync(account_sid: str, observed: set[str]) -> int:
    """Settle the unconfirmed decisions whose request a sync read after their attempt (the ids
    in `observed`) by what it read, with no call of their own."""
    if not observed:
        return 0
    waiting = Decision.objects.filter(
        status=Decision.Status.UNCONFIRMED,
        request__account_sid=account_sid,
        request__impact_id__in=observed,
    ).select_related("request", "decided_by", "rule")
    settled = 0
    for decision in waiting:
        row = decision.request
        _settle_to(decision, None if row.is_gone else row)
        settled += decision.status != Decision.Status.UNCONFIRMED
    return settled


def take_over_lapsed(now: datetime | None = None) -> int:
    """Decisions whose sender died mid-call (its lease lapsed) become unconfirmed: the call
    may or may not have reached impact.com, and the re-reads settle which."""
    now = now or timezone.now()
    lapsed = Decision.objects.filter(status=Decision.Status.SENDING).filter(
        Q(lease_until__lt=now)
        | Q(lease_until__isnull=True, send_after__lt=now - timedelta(minutes=5))
    )
    taken = 0
    for decision in lapsed.select_related("request", "decided_by", "rule"):
        with transaction.atomic():
            if not Decision.objects.filter(
                pk=decision.pk, status=Decision.Status.SENDING, lease_until=decision.lease_until
            ).update(status=Decision.Status.UNCONFIRMED):
                continue
            decision.refresh_from_db()
            _record_unconfirmed(
                decision,
                message="The process sending it stopped before impact.com's answer was recorded.",
                status=None,
            )
        taken += 1
    return taken


def settle_due(now: datetime | None = None) -> int:
    """Re-read every unconfirmed decision whose next check is due; how many were settled."""
    due = Decision.objects.filter(
        status=Decision.Status.UNCONFIRMED, next_check_at__lte=now or timezone.now()
    ).select_related("request", "decided_by", "rule")
    settled = 0
    for decision in due:
        settled += settle(decision).status != Decision.Status.UNCONFIRMED
    return settled


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
    """impact.com refused the call (or it never left): the slot is free again."""
    message = error.detail if isinstance(error, impact.Rejected) else error.message
    with transaction.atomic():
        decision.status = Decision.Status.FAILED
        decision.finished_at = timezone.now()
        decision.lease_until = None
        decision.response_status = error.status
        decision.response_message = message
        decision.save(
            update_fields=[
                "status",
                "finished_at",
                "lease_until",
                "response_status",
                "response_message",
            ]
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
            detail={"error": type(error).__name__},
        )


def refresh_quietly(
    request: TrackingValueRequest,
    client: impact.ImpactClient | None = None,
    *,
    deadline: impact.Deadline | None = None,
) -> TrackingValueRequest | None:
    """Re-read the request so the page shows the truth; a failure here changes nothing."""
    if deadline is not None and deadline.passed:
        return None
    try:
        return sync.refresh_one(
            request.account_sid, request.impact_id, client=client, retries=0, deadline=deadline
        )
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
    if decision.rule_id is not None:
        extra |= {"rule": decision.rule_id, "rule_version": decision.rule_version}
    if decision.suggested_by_id is not None:
        extra |= {
            "suggested_by_rule": decision.suggested_by_id,
            "suggested_by_version": decision.suggested_version,
        }
    return audit.record(
        action=f"{decision.action}_{action}" if action else decision.action,
        outcome=outcome,
        actor=decision.decided_by,
        actor_name=decision.decider,
        account_sid=request.account_sid,
        request_impact_id=request.impact_id,
        sent=decision.sent,
        response_status=status,
        response_message=message,
        detail={"decision": decision.pk, "reason": decision.reason, "note": decision.note}
        | extra
        | (detail or {}),
    )
