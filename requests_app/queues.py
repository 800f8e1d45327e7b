"""Review queues: who holds which request, claims, hand-overs and comments, all audited.

Claim state is ours, not impact.com's: sync.py never touches `assigned_to`. Every change
takes a row lock and writes its audit event in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from requests_app import audit, roles
from requests_app.models import Account, AuditEvent, Comment, TrackingValueRequest

QUEUES = [
    ("mine", "My queue"),
    ("unassigned", "Unassigned"),
    ("overdue", "Overdue"),
    ("due_soon", "Due soon"),
    ("open", "All open"),
]


class QueueError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HeldByOther(QueueError):
    """The request is held by someone else; repeat with confirmation to act anyway."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"{holder} is working on this request. Confirm to act on it anyway.")
        self.holder = holder


def _shared_filters() -> dict[str, Q]:
    """The queues that are the same for everyone: all but "mine"."""
    now = timezone.now()
    soon = now + timedelta(days=settings.TVR_DUE_SOON_DAYS)
    return {
        "unassigned": Q(assigned_to__isnull=True),
        "overdue": Q(date_needed__lt=now),
        "due_soon": Q(date_needed__gte=now, date_needed__lte=soon),
        "open": Q(),
    }


def _mine_filter(user: Any) -> dict[str, Q]:
    return {"mine": Q(assigned_to=user.pk)}


def _queue_filters(user: Any) -> dict[str, Q]:
    return {**_mine_filter(user), **_shared_filters()}


def in_queue(queryset: QuerySet, name: str, user: Any) -> QuerySet:
    """Open requests in the named queue (unknown names mean all open requests)."""
    return queryset.filter(state="NEW", is_gone=False).filter(_queue_filters(user).get(name, Q()))


def queue_counts(account_sid: str, user: Any, account: Account | None = None) -> dict[str, int]:
    """Every queue's count, cached under the account's data version: the queues that are the
    same for everyone once per account and minute ("overdue" and "due soon" move with the
    clock), "mine" once per user. Pass the account when it is at hand; otherwise it is read
    (one small query)."""

    def counter(filters: dict[str, Q]) -> Callable[[], dict[str, int]]:
        def count() -> dict[str, int]:
            return TrackingValueRequest.objects.filter(
                account_sid=account_sid, state="NEW", is_gone=False
            ).aggregate(**{name: Count("state", filter=q) for name, q in filters.items()})

        return count

    account = account or Account.objects.filter(sid=account_sid).first()
    if account is None:
        return counter(_queue_filters(user))()
    counted: dict[str, int] = {}

    def shared() -> dict[str, int]:
        # A miss counts this user's "mine" in the same query: no page pays two.
        counted.update(counter(_queue_filters(user))())
        return {name: n for name, n in counted.items() if name != "mine"}

    everyone = account.cached("queues", shared, vary=str(int(time.time() // 60)))
    mine = account.cached(
        "queue_mine",
        (lambda: {"mine": counted["mine"]}) if counted else counter(_mine_filter(user)),
        vary=str(user.pk),
    )
    return {**mine, **everyone}


def _require(user: Any, perm: str, what: str, account_sid: str) -> None:
    if not roles.may(user, f"requests_app.{perm}", account_sid):
        raise QueueError(f"Your role cannot {what}.")


def _locked(request: TrackingValueRequest) -> TrackingValueRequest:
    return (
        TrackingValueRequest.objects.select_for_update(of=("self",))
        .select_related("assigned_to")
        .get(pk=request.pk)
    )


def _assign(request: TrackingValueRequest, user: Any) -> None:
    """Hand the (locked) request to user, or to nobody; the queue counts follow."""
    request.assigned_to, request.assigned_at = user, timezone.now() if user else None
    request.save(update_fields=["assigned_to", "assigned_at"])
    Account.changed(request.account_sid)


def _record(action: str, request: TrackingValueRequest, user: Any, **detail: Any) -> None:
    audit.record(
        action=action,
        outcome=AuditEvent.Outcome.SUCCESS,
        actor=user,
        account_sid=request.account_sid,
        request_impact_id=request.impact_id,
        detail=detail,
    )


def _held_by_other(current: TrackingValueRequest, user: Any, confirm: bool) -> str:
    """The other holder's name when the user confirmed; raise when they did not."""
    holder = current.assigned_to
    if holder is None or holder.pk == user.pk:
        return ""
    if not confirm:
        raise HeldByOther(holder.get_username())
    return holder.get_username()


def claim(
    *, request: TrackingValueRequest, user: Any, confirm: bool = False
) -> TrackingValueRequest:
    _require(user, "claim_request", "claim requests", request.account_sid)
    with transaction.atomic():
        current = _locked(request)
        if not current.is_open:
            raise QueueError("This request is already decided; there is nothing to claim.")
        took_over = _held_by_other(current, user, confirm)
        _assign(current, user)
        _record("claim", current, user, **({"took_over_from": took_over} if took_over else {}))
    return current


def release(
    *, request: TrackingValueRequest, user: Any, confirm: bool = False
) -> TrackingValueRequest:
    _require(user, "claim_request", "release requests", request.account_sid)
    with transaction.atomic():
        current = _locked(request)
        if current.assigned_to is None:
            return current
        took_over = _held_by_other(current, user, confirm)
        _assign(current, None)
        _record("release", current, user, **({"released_for": took_over} if took_over else {}))
    return current


def assign(
    *, request: TrackingValueRequest, to: Any, user: Any, confirm: bool = False
) -> TrackingValueRequest:
    _require(user, "claim_request", "assign requests", request.account_sid)
    if not to.is_active or not roles.may(to, roles.DECIDE, request.account_sid):
        # Never their name: a person of another account must not learn it from the answer.
        raise QueueError("That person cannot review requests on this account.")
    with transaction.atomic():
        current = _locked(request)
        if not current.is_open:
            raise QueueError("This request is already decided.")
        previous = current.assigned_to.get_username() if current.assigned_to else ""
        if current.assigned_to is not None and current.assigned_to.pk != to.pk:
            _held_by_other(current, user, confirm)
        _assign(current, to)
        _record("assign", current, user, to=to.get_username(), previous=previous)
    return current


def comment(*, request: TrackingValueRequest, user: Any, body: str) -> Comment:
    _require(user, "comment_request", "comment", request.account_sid)
    body = body.strip()
    if not body:
        raise QueueError("A comment needs some text.")
    if len(body) > 4000:
        raise QueueError("Keep comments under 4,000 characters.")
    with transaction.atomic():
        note = Comment.objects.create(request=request, author=user, body=body)
        _record("comment", request, user, comment=note.pk, length=len(body))
    return note
