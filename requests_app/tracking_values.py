"""The account's unique URLs, tracking phone numbers and promo codes: impact.com -> ORM, and
the lookups the approve forms make in them.

- They change rarely, so they are read every TVR_TRACKING_VALUES_HOURS (24), after a
  successful full sync (`after_sync`, called by the sync task and `sync_requests`), and only
  while the hourly budget is above TVR_SYNC_BUDGET_FLOOR: a refresh costs one call for
  CompanyInformation (which also names the account and proves the credentials) plus one per
  page of each list, 4 calls for most accounts.
- A list is replaced only once every page of it was read; a value impact.com stopped listing
  is marked gone, never deleted. A failure keeps what was cached and is retried next time.
- This module is the only writer of `TrackingValue`; views read the ORM only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, QuerySet, Value, When
from django.db.models.functions import Upper
from django.utils import timezone

from requests_app import impact, patterns
from requests_app.models import Account, SyncRun, TrackingValue

logger = logging.getLogger(__name__)

KINDS = tuple(impact.TRACKING_VALUE_RESOURCES)
CHOICES_SHOWN = 50
HOLDERS_SHOWN = 10


@dataclass
class Refresh:
    """What one refresh did: the company name read, values per kind, or the error."""

    company: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    gone: int = 0
    error: str = ""


def due(account: Account, *, now: datetime | None = None) -> bool:
    if account.tracking_values_synced_at is None:
        return True
    every = timedelta(hours=settings.TVR_TRACKING_VALUES_HOURS)
    return (now or timezone.now()) - account.tracking_values_synced_at >= every


def budget_allows(account: Account) -> bool:
    """Rarely changing data waits while the hour's budget is low (requests come first)."""
    share = account.budget_share
    return share is None or share >= settings.TVR_SYNC_BUDGET_FLOOR


def refresh(
    account_sid: str, *, client: impact.ImpactClient | None = None, force: bool = False
) -> Refresh | None:
    """Read the company and every tracking value of the account, if due (or `force`); None
    when it was not due or the budget is low. impact.com failures end up in `Refresh.error`."""
    account, _ = Account.objects.get_or_create(sid=account_sid)
    if not force and not (due(account) and budget_allows(account)):
        return None
    result = Refresh()
    now = timezone.now()
    try:
        client = client or impact.get_client(account_sid)
        info = client.company_information()
        result.company = info.company_name
        # impact.com names the account unless a person gave it a name (add_account --name).
        Account.objects.filter(sid=account_sid, name="").update(name=info.company_name)
        for kind in KINDS:
            values = list(client.list_tracking_values(kind))
            result.counts[kind] = len(values)
            result.gone += _store(account_sid, kind, values, now)
    except impact.ImpactError as error:
        result.error = error.message
        logger.warning("Tracking values of %s not refreshed: %s", account_sid, error.message)
    finally:
        if client is not None:
            _note_rate_limit(account_sid, client.last_rate_limit)
    if not result.error:
        Account.objects.filter(sid=account_sid).update(tracking_values_synced_at=now)
    return result


def after_sync(run: SyncRun) -> Refresh | None:
    """After a sync (the task worker and `sync_requests` call this): a successful full sync is
    when the tracking values are read, if due and the budget allows."""
    if run.kind != SyncRun.Kind.FULL or run.status != SyncRun.Status.SUCCEEDED:
        return None
    return refresh(run.account_sid)


def _note_rate_limit(account_sid: str, rate: impact.RateLimit | None) -> None:
    from requests_app import sync  # sync calls this module

    sync.note_rate_limit(account_sid, rate)


def search_text(value: impact.TrackingValue) -> str:
    parts = (value.id, value.value, value.partner_name, value.campaign_name, value.detail)
    return " \u2502 ".join(p for p in parts if p).casefold()


def _store(account_sid: str, kind: str, values: list[impact.TrackingValue], now: datetime) -> int:
    """Upsert one complete list; what it no longer holds is marked gone. Returns that count."""
    rows = {
        v.id: TrackingValue(
            account_sid=account_sid,
            kind=kind,
            impact_id=v.id,
            value=v.value[:500],
            state=v.state[:16],
            campaign_id=v.campaign_id,
            campaign_name=v.campaign_name[:255],
            partner_id=v.partner_id,
            partner_name=v.partner_name[:255],
            match_mode=v.match_mode[:2],
            credit_policy=v.credit_policy[:16],
            detail=v.detail[:500],
            search_text=search_text(v),
            synced_at=now,
            is_gone=False,
        )
        for v in values
    }
    updated = [
        "value", "state", "campaign_id", "campaign_name", "partner_id", "partner_name",
        "match_mode", "credit_policy", "detail", "search_text", "synced_at", "is_gone",
    ]  # fmt: skip
    with transaction.atomic():
        TrackingValue.objects.bulk_create(
            list(rows.values()),
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["account_sid", "kind", "impact_id"],
            update_fields=updated,
        )
        # Written this time means seen: whatever kept an older stamp was not listed.
        return (
            TrackingValue.objects.filter(account_sid=account_sid, kind=kind, is_gone=False)
            .exclude(synced_at=now)
            .update(is_gone=True)
        )


# --- what the approve forms read --------------------------------------------------------------


def choices(account_sid: str, kind: str, query: str = "") -> QuerySet[TrackingValue]:
    """Live values of a kind matching the search words, available ones first."""
    rows = TrackingValue.objects.filter(account_sid=account_sid, kind=kind, is_gone=False)
    for word in query.casefold().split()[:5]:
        rows = rows.filter(search_text__contains=word)
    available = Case(When(state="AVAILABLE", then=Value(0)), default=Value(1))
    return rows.alias(taken=available).order_by("taken", "value", "impact_id")


@dataclass(frozen=True)
class Holder:
    """A promo code of the account assigned to a partner other than the requester."""

    code: str
    match_mode: str
    partner_id: int | None
    partner_name: str


def codes_held_elsewhere(
    account_sid: str,
    partner_id: int | None,
    code: str,
    mode: str,
    *,
    deadline: patterns.Deadline,
    limit: int = HOLDERS_SHOWN,
) -> list[Holder]:
    """The account's codes, assigned to other partners, that approving `code` would collide
    with: the same code (LI, ignoring case), or every code the expression matches whole (RE,
    the credit it would take from them). Raises patterns.TooSlow past the deadline."""
    if not code:
        return []
    codes = (
        TrackingValue.objects.filter(
            account_sid=account_sid, kind=TrackingValue.Kind.CODE, is_gone=False
        )
        .exclude(state="INACTIVE")
        .exclude(value="")
    )
    if partner_id is not None:
        codes = codes.exclude(partner_id=partner_id)
    fields = ("value", "match_mode", "partner_id", "partner_name")
    if mode != "RE":
        # Both sides upper-cased by the database: Python maps ß to SS, PostgreSQL keeps it.
        found = codes.alias(code=Upper("value")).filter(code=Upper(Value(code)))
        return [Holder(*row) for row in found.values_list(*fields)[:limit]]
    if patterns.compile_error(code):
        return []
    pattern = patterns.compiled(code)
    held = []
    for row in codes.order_by("value").values_list(*fields).iterator(chunk_size=2000):
        if patterns.fullmatch(pattern, row[0], deadline):
            held.append(Holder(*row))
            if len(held) >= limit:
                break
    return held
