"""Writing the append-only, hash-chained audit trail, and checking the chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from requests_app.models import AuditEvent

# Any constant works; it names the lock that serialises appends to the chain on PostgreSQL.
_CHAIN_LOCK = 0x7456_5241  # "tVRA"


def _plain(value: Any) -> Any:
    """The JSON form the database will hand back, so the hash matches after a reload."""
    return json.loads(json.dumps(value or {}, cls=DjangoJSONEncoder))


def record(
    *,
    action: str,
    outcome: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_name: str = "",
    account_sid: str = "",
    request_impact_id: str = "",
    sent: dict[str, Any] | None = None,
    response_status: int | None = None,
    response_message: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event, chained to the previous one. Call inside the change's transaction.
    `actor_name` names an actor that is not a person (a rule); a person is named by `actor`."""
    user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            actor=user,
            actor_name=user.get_username() if user else actor_name[:150],
            account_sid=account_sid,
            request_impact_id=request_impact_id,
            action=action,
            outcome=outcome,
            sent=_plain(sent),
            response_status=response_status,
            response_message=response_message,
            detail=_plain(detail),
            prev_hash=last or "",
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
    return event


def verify_chain(batch_size: int = 2000) -> tuple[int, AuditEvent | None]:
    """Walk the chain oldest first; return (events checked, first event that does not match)."""
    checked = 0
    previous = ""
    for event in _oldest_first(batch_size):
        if event.prev_hash != previous or event.compute_hash() != event.hash:
            return checked, event
        previous = event.hash
        checked += 1
    return checked, None


def _oldest_first(batch_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
