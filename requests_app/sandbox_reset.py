"""What the dashboard forgets when the sandbox is reseeded (`seed_sandbox --reset`).

A reset sandbox reuses its request ids for new requests, so the cached rows, claims, comments
and decisions of the old ones would point at requests that no longer exist, or at different
ones under the same id. They are deleted, and the cache syncs afresh. The audit trail is not:
it is append-only (a database trigger, migration 0002) and what it records did happen. A
`sandbox_reset` event marks the cut, so a reader knows earlier events name requests of an
earlier seeding. Never for the configured impact.com account.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from requests_app import audit
from requests_app.models import (
    Account,
    AuditEvent,
    Decision,
    SyncRun,
    TrackingValue,
    TrackingValueRequest,
)


def forget_account(account_sid: str, *, reason: str) -> dict[str, int]:
    """Delete the account's cached requests and their review state; returns the counts."""
    if account_sid == settings.IMPACT_ACCOUNT_SID:
        raise ValueError("The configured impact.com account's cache is never reset.")
    with transaction.atomic():
        requests = TrackingValueRequest.objects.filter(account_sid=account_sid)
        decisions = Decision.objects.filter(request__account_sid=account_sid).delete()[0]
        cached = requests.count()
        requests.delete()  # comments go with them
        values = TrackingValue.objects.filter(account_sid=account_sid).delete()[0]
        SyncRun.objects.filter(account_sid=account_sid).exclude(
            status=SyncRun.Status.RUNNING
        ).delete()
        Account.objects.filter(sid=account_sid).update(
            last_synced_at=None, last_full_sync_at=None, tracking_values_synced_at=None
        )
        Account.changed(account_sid, rows=True)
        earlier = AuditEvent.objects.filter(account_sid=account_sid).count()
        counts: dict[str, Any] = {
            "requests": cached,
            "decisions": decisions,
            "tracking_values": values,
            "earlier_audit_events": earlier,
        }
        audit.record(
            action="sandbox_reset",
            outcome=AuditEvent.Outcome.INFO,
            account_sid=account_sid,
            response_message=reason,
            detail=counts,
        )
    return counts
