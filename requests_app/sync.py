"""impact.com -> ORM: the cache's only writer.

- A full sync walks every request; an open sync walks only `State=NEW`; `refresh_one` re-reads
  one request (after an approve or reject, or on demand).
- Each page is written in its own transaction with one bulk upsert, so an interrupted sync
  leaves every row either old or new. Running the same sync twice changes nothing.
- Rows impact.com stopped returning are marked gone after a complete full sync, never deleted:
  complete means every page was read and they held as many requests as impact.com's `@total`.
- An older answer never overwrites a newer one (`fetched_at`), so a sync that read a page
  before a reviewer's approve cannot put the request back to NEW.
- One sync per account at a time, guarded by a partial unique index on running SyncRun rows;
  progress, locks and schedules live in the database, never in process memory. A running sync
  renews its lease (`heartbeat_at`) from a thread; one whose lease lapses (its worker died) is
  taken over within TVR_SYNC_LEASE_SECONDS.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from requests_app import bulk, impact, sla
from requests_app.models import Account, State, SyncRun, TrackingValueRequest

logger = logging.getLogger(__name__)

# Open requests missing from an open sync were decided or removed: re-read this many at once.
OPEN_SYNC_RECHECK_LIMIT = 50
# A walk writes its progress (and impact.com's budget) at most this often, and when it ends:
# two writes a page were a tenth of a re-sync. The lease is renewed by its own thread.
PROGRESS_SECONDS = 1.0


class SyncAlreadyRunning(Exception):
    """Another sync of the same account is running; `run` is that one."""

    def __init__(self, run: SyncRun | None) -> None:
        super().__init__("A sync of this account is already running.")
        self.run = run


@dataclass
class PageCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_older: int = 0


def _first_value(item: impact.TrackingValueRequest, *, approved: bool) -> str:
    if item.promo_codes:
        code = item.promo_codes[0]
        return code.approved_code if approved else code.requested_code
    if item.unique_urls:
        return item.unique_urls[0].url if approved or not item.unique_urls[0].url_id else ""
    if item.phone_numbers:
        return item.phone_numbers[0].assigned_phone_number if approved else ""
    return ""


BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


def _fits(number: int | None, maximum: int, minimum: int) -> int | None:
    """A number the column can hold; anything else is kept only in the payload."""
    return number if number is not None and minimum <= number <= maximum else None


def search_text(item: impact.TrackingValueRequest, deal_name: str | None = None) -> str:
    """What free-text search looks through, casefolded once here instead of on every query."""
    if deal_name is None:
        deal = impact.Deal.columns(item.raw)
        deal_name = deal[1] if deal else ""
    parts = [
        item.id,
        item.media_partner_name,
        item.campaign_name,
        deal_name,
        *(code.requested_code for code in item.promo_codes),
        *(code.approved_code for code in item.promo_codes),
        item.additional_instructions,
    ]
    return " \u2502 ".join(p for p in parts if p).casefold()


def row_values(item: impact.TrackingValueRequest, *, seen_at: datetime) -> dict[str, Any]:
    """The cache columns for one impact.com request."""
    return _row(item, seen_at, impact.fingerprint(item.raw))


def _row(item: impact.TrackingValueRequest, seen_at: datetime, digest: str) -> dict[str, Any]:
    """The cache columns of one request (bulk.COLUMNS but the account)."""
    deal_id, deal_name, deal_type, deal_state = impact.Deal.columns(item.raw) or (None, "", "", "")
    return {
        "impact_id": item.id,
        "campaign_id": _fits(item.campaign_id, BIGINT_MAX, -BIGINT_MAX),
        "campaign_name": item.campaign_name[:255],
        "media_partner_id": _fits(item.media_partner_id, BIGINT_MAX, -BIGINT_MAX),
        "media_partner_name": item.media_partner_name[:255],
        "request_type": item.request_type[:32],
        "state": item.state[:16],
        "number_requested": _fits(item.number_requested, INT_MAX, 0),
        "date_placed": item.date_placed,
        "date_needed": item.date_needed,
        "date_completed": item.date_completed,
        "deal_id": _fits(deal_id, BIGINT_MAX, -BIGINT_MAX),
        "deal_name": deal_name[:255],
        "deal_type": deal_type[:32],
        "deal_state": deal_state[:16],
        "requested_value": _first_value(item, approved=False)[:500],
        "approved_value": _first_value(item, approved=True)[:500],
        "additional_instructions": item.additional_instructions,
        "search_text": search_text(item, deal_name),
        "payload": item.raw,
        "payload_hash": digest,
        "first_seen_at": seen_at,
        "last_seen_at": seen_at,
        "fetched_at": seen_at,
        "is_gone": False,
        "sla_due_at": item.date_needed,  # sla.stamp sets it from the account's targets
    }


def store(
    account_sid: str,
    items: Iterable[impact.TrackingValueRequest],
    *,
    fetched_at: datetime,
    seen: bulk.SeenIds | None = None,
) -> PageCounts:
    """Write typed requests: one read finds what is new or changed, one transaction writes just
    that. Unchanged rows are not written at all (a sync remembers them in `seen`)."""
    entries = {item.id: item for item in items}
    digests = {impact_id: impact.fingerprint(item.raw) for impact_id, item in entries.items()}
    return _store(account_sid, entries, digests, fetched_at, seen)


@dataclass(frozen=True)
class HashedPage:
    """One page of a walk with each request's fingerprint."""

    page: impact.RequestPage
    fetched_at: datetime
    entries: dict[str, Any]  # impact_id -> the raw request
    digests: dict[str, str]  # impact_id -> its fingerprint

    @classmethod
    def of(cls, fetched_at: datetime, page: impact.RequestPage) -> HashedPage:
        entries, digests = {}, {}
        for impact_id, raw, digest in page.fingerprints():
            entries[impact_id], digests[impact_id] = raw, digest
        return cls(page, fetched_at, entries, digests)


def store_page(account_sid: str, hashed: HashedPage, *, seen: bulk.SeenIds) -> PageCounts:
    """Write one page of a walk like `store`, comparing each request's fingerprint with the
    row we hold before typing it: only new and changed requests are parsed and encoded."""
    return _store(account_sid, hashed.entries, hashed.digests, hashed.fetched_at, seen)


def _store(
    account_sid: str,
    entries: dict[str, Any],
    digests: dict[str, str],
    fetched_at: datetime,
    seen: bulk.SeenIds | None,
) -> PageCounts:
    """`entries`: impact_id -> the typed request or its raw value; `digests`: impact_id -> its
    fingerprint."""
    counts = PageCounts()
    if not entries:
        return counts
    # One statement finds what differs (and remembers the page's ids); only that is typed and
    # written, in its own transaction. The upsert's guard keeps a row written in between by a
    # newer answer (a reviewer's decision) from being overwritten.
    differing = bulk.differing(account_sid, digests, fetched_at, seen)
    counts.unchanged = len(entries) - len(differing)
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    for impact_id, difference in differing.items():
        if difference == bulk.Difference.NEW:
            counts.created += 1
        elif difference == bulk.Difference.NEWER:
            counts.skipped_older += 1
            continue
        else:
            counts.updated += 1
        item = entries[impact_id]
        if not isinstance(item, impact.TrackingValueRequest):
            item = impact.TrackingValueRequest.parse(item)
        rows.append(_row(item, fetched_at, digests[impact_id]) | {"account_sid": account_sid})
        texts.append(item.raw_json or impact.canonical_json(item.raw))
    if rows:
        sla.stamp(account_sid, rows)
        with transaction.atomic():
            bulk.upsert(rows, payload_text=texts)
            Account.changed(account_sid, rows=True)
    return counts


# --- running a sync ---------------------------------------------------------------------------


def begin(account_sid: str, kind: str = SyncRun.Kind.FULL, *, user: Any = None) -> SyncRun:
    """Claim the account's sync slot, or raise SyncAlreadyRunning."""
    _abandon_stale_runs(account_sid)
    Account.objects.get_or_create(sid=account_sid)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                account_sid=account_sid,
                kind=kind,
                started_by=user if user is not None and user.is_authenticated else None,
            )
    except IntegrityError:
        raise SyncAlreadyRunning(running_sync(account_sid)) from None


def running_sync(account_sid: str) -> SyncRun | None:
    return (
        SyncRun.objects.filter(account_sid=account_sid, status=SyncRun.Status.RUNNING)
        .exclude(kind=SyncRun.Kind.ONE)
        .first()
    )


def _abandon_stale_runs(account_sid: str | None = None) -> int:
    """A worker that died mid-sync must not hold the slot: a run whose lease lapsed is over."""
    cutoff = timezone.now() - timedelta(seconds=settings.TVR_SYNC_LEASE_SECONDS)
    lapsed = SyncRun.objects.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=cutoff)
    if account_sid is not None:
        lapsed = lapsed.filter(account_sid=account_sid)
    return lapsed.update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="Abandoned: the worker running it stopped (its lease lapsed).",
    )


def abandon_lapsed() -> int:
    """Every account's syncs whose worker died: the sweep calls this (see housekeeping.py)."""
    return _abandon_stale_runs()


class Lease:
    """Renews a running sync's `heartbeat_at` from a thread every TVR_SYNC_HEARTBEAT_SECONDS,
    however long one call to impact.com takes; the renewals stop with the process."""

    def __init__(self, run: SyncRun) -> None:
        self.run_id = run.pk
        self.every = settings.TVR_SYNC_HEARTBEAT_SECONDS
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._renew, name="tvr-sync-lease", daemon=True)

    def __enter__(self) -> Lease:
        if self.every > 0:
            self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()

    def _renew(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                SyncRun.objects.filter(pk=self.run_id, status=SyncRun.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connections.close_all()  # this thread's own connection


def run_sync(
    account_sid: str | None = None,
    kind: str = SyncRun.Kind.FULL,
    *,
    user: Any = None,
    client: impact.ImpactClient | None = None,
    progress: Callable[[SyncRun], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncRun:
    """Begin and execute a sync in this process (the command and the task both call this)."""
    run = begin(account_sid or impact.default_account_sid(), kind, user=user)
    return execute(run, client=client, progress=progress, sleep=sleep)


def execute(
    run: SyncRun,
    *,
    client: impact.ImpactClient | None = None,
    progress: Callable[[SyncRun], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncRun:
    """Walk impact.com's pages for a begun run, writing each as it arrives."""
    try:
        with Lease(run):
            _walk(run, client or impact.get_client(run.account_sid), progress, sleep)
    except impact.ImpactError as error:
        return _finish(run, SyncRun.Status.FAILED, error.message)
    except IncompleteWalk as error:
        return _finish(run, SyncRun.Status.FAILED, str(error))
    except Exception as error:
        logger.exception("Sync %s of %s failed", run.pk, run.account_sid)
        _finish(run, SyncRun.Status.FAILED, f"Unexpected error: {type(error).__name__}")
        raise
    return _finish(run, SyncRun.Status.SUCCEEDED)


class IncompleteWalk(Exception):
    """The pages held fewer requests than impact.com announced: nothing may be marked gone."""


def _walk(
    run: SyncRun,
    client: impact.ImpactClient,
    progress: Callable[[SyncRun], None] | None,
    sleep: Callable[[float], None],
) -> None:
    from requests_app import decisions  # decisions import this module

    filters = {"state": State.NEW} if run.kind == SyncRun.Kind.OPEN else {}
    # Fingerprints are taken here, not in the read-ahead thread: there they would follow every
    # download (against a server taking 40 ms a page, re-sync 1.44x the bare download, 1.23x).
    pages = _stamped_pages(client, filters, sleep)
    if client.over_network:
        pages = _read_ahead(pages)
    waiting = decisions.waiting_on(run.account_sid)  # unconfirmed: impact_id -> attempt ended
    observed: set[str] = set()
    total: int | None = None
    saved_at = time.monotonic()
    with bulk.SeenIds() as seen:
        try:
            for read in pages:
                hashed = HashedPage.of(*read)
                counts = store_page(run.account_sid, hashed, seen=seen)
                observed.update(
                    i for i in hashed.digests if i in waiting and hashed.fetched_at > waiting[i]
                )
                page = hashed.page
                total = page.total if page.total is not None else total
                _count_page(run, page, counts)
                if time.monotonic() - saved_at >= PROGRESS_SECONDS:
                    _save_progress(run, client)
                    saved_at = time.monotonic()
                if progress:
                    progress(run)
            walked = seen.count()
            if total is not None and walked < total:
                raise IncompleteWalk(
                    f"impact.com announced {total} requests but its pages held {walked}; "
                    "nothing was marked gone. The next sync tries again."
                )
            if total is None and not walked and run.kind == SyncRun.Kind.FULL:
                # An empty list with no total proves nothing (an error page shaped like a list).
                raise IncompleteWalk(
                    "impact.com returned no requests and no total; nothing was marked gone."
                )
            if run.kind == SyncRun.Kind.FULL:
                run.gone = _mark_gone(run, seen)
            else:
                run.gone = _recheck_missing_open(run, client, seen, observed)
        finally:
            _save_progress(run, client)
            # Whatever the walk read is impact.com's truth: it settles decisions waiting on it.
            decisions.settle_from_sync(run.account_sid, observed)


def _stamped_pages(
    client: impact.ImpactClient, filters: dict[str, Any], sleep: Callable[[float], None]
) -> Iterator[tuple[datetime, impact.RequestPage]]:
    """impact.com's pages, each stamped just before it was asked for (the page is at least
    that new, and no newer), pausing between calls when the hourly budget runs low."""
    pages = client.iter_pages(**filters)
    while True:
        fetched_at = timezone.now()
        page = next(pages, None)
        if page is None:
            return
        yield fetched_at, page
        _pace(page.rate_limit, sleep)


def _read_ahead[T](items: Iterator[T]) -> Iterator[T]:
    """Fetch the next page in a thread while this one is written, so a sync takes about as
    long as the slower of downloading and writing, not both. At most one page waits, so memory
    stays flat; a failure reaches the caller in page order; stopping early stops the thread.
    Only for clients that do nothing but HTTP (the thread never touches the database)."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as error:  # handed to the consumer, raised there
            put(("error", error))

    threading.Thread(target=produce, name="tvr-sync-read-ahead", daemon=True).start()
    try:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def _count_page(run: SyncRun, page: impact.RequestPage, counts: PageCounts) -> None:
    run.pages_done += 1
    run.pages_total = max(page.num_pages or 0, run.pages_done)
    run.created += counts.created
    run.updated += counts.updated
    run.unchanged += counts.unchanged + counts.skipped_older
    run.api_calls += 1
    run.heartbeat_at = timezone.now()
    if page.rate_limit:
        run.rate_limit, run.rate_remaining = page.rate_limit.limit, page.rate_limit.remaining


def _save_progress(run: SyncRun, client: impact.ImpactClient) -> None:
    run.save(
        update_fields=[
            "pages_done",
            "pages_total",
            "created",
            "updated",
            "unchanged",
            "api_calls",
            "heartbeat_at",
            "rate_limit",
            "rate_remaining",
        ]
    )
    note_rate_limit(run.account_sid, client.last_rate_limit)


def note_rate_limit(account_sid: str, rate: impact.RateLimit | None) -> None:
    """Keep what impact.com last said of the account's hourly budget, for the UI."""
    if rate is None:
        return
    Account.objects.filter(sid=account_sid).update(
        rate_limit=rate.limit,
        rate_remaining=rate.remaining,
        rate_reset_at=rate.reset_at,
        rate_seen_at=timezone.now(),
    )


def _pace(rate: impact.RateLimit | None, sleep: Callable[[float], None]) -> None:
    """Spread the calls left over the rest of the hour once the budget runs low."""
    share = rate.share_left if rate else None
    if share is None or share >= settings.TVR_SYNC_BUDGET_FLOOR:
        return
    seconds_left = 3600.0
    if rate.reset_at:
        seconds_left = max(1.0, (rate.reset_at - timezone.now()).total_seconds())
    pause = seconds_left / max(1, rate.remaining or 0)
    sleep(min(pause, settings.TVR_SYNC_MAX_PAUSE_SECONDS))


def _mark_gone(run: SyncRun, seen: bulk.SeenIds) -> int:
    """After a complete full sync: what impact.com did not return is gone."""
    gone = seen.unseen(run.account_sid).update(is_gone=True)
    if gone:
        Account.changed(run.account_sid)
    return gone


def _recheck_missing_open(
    run: SyncRun, client: impact.ImpactClient, seen: bulk.SeenIds, observed: set[str]
) -> int:
    """Open requests the open sync did not return were decided elsewhere: re-read a few."""
    missing = list(
        seen.unseen(run.account_sid)
        .filter(state=State.NEW)
        .order_by("date_needed")
        .values_list("impact_id", flat=True)[:OPEN_SYNC_RECHECK_LIMIT]
    )
    gone = 0
    for impact_id in missing:
        if refresh_one(run.account_sid, impact_id, client=client) is None:
            gone += 1
        observed.add(impact_id)
        run.api_calls += 1
    return gone


def _finish(run: SyncRun, status: str, error: str = "") -> SyncRun:
    now = timezone.now()
    run.status, run.error, run.finished_at = status, error, now
    run.save(update_fields=["status", "error", "finished_at", "gone", "api_calls"])
    if status == SyncRun.Status.SUCCEEDED and run.kind != SyncRun.Kind.ONE:
        fields = {"last_synced_at": now}
        if run.kind == SyncRun.Kind.FULL:
            fields["last_full_sync_at"] = now
        Account.objects.filter(sid=run.account_sid).update(**fields)
    _audit(run)
    return run


def _audit(run: SyncRun) -> None:
    """A sync in the audit trail: every one a person started, every failure and every full
    sync (the open-only refreshes every few minutes stay on the sync status alone)."""
    if run.kind == SyncRun.Kind.ONE:
        return
    failed = run.status == SyncRun.Status.FAILED
    if run.started_by_id is None and not failed and run.kind != SyncRun.Kind.FULL:
        return
    from requests_app import audit

    seconds = run.duration.total_seconds() if run.duration else None
    audit.record(
        action="sync",
        outcome=audit.AuditEvent.Outcome.FAILURE if failed else audit.AuditEvent.Outcome.SUCCESS,
        actor=run.started_by,
        account_sid=run.account_sid,
        response_message=run.error,
        detail={
            "kind": run.kind,
            "run": run.pk,
            "pages": run.pages_done,
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "gone": run.gone,
            "api_calls": run.api_calls,
            "seconds": round(seconds, 1) if seconds is not None else None,
        },
    )


# --- one request ------------------------------------------------------------------------------


def refresh_one(
    account_sid: str,
    impact_id: str,
    *,
    client: impact.ImpactClient | None = None,
    retries: int | None = None,
    deadline: impact.Deadline | None = None,
) -> TrackingValueRequest | None:
    """Re-read one request from impact.com and store it; None when impact.com no longer has it.

    Raises the client's ImpactError when impact.com cannot answer; the row is then left as it was.
    """
    client = client or impact.get_client(account_sid)
    fetched_at = timezone.now()
    try:
        item = client.get_request(impact_id, retries=retries, deadline=deadline)
    except impact.NotFound:
        TrackingValueRequest.objects.filter(account_sid=account_sid, impact_id=impact_id).update(
            is_gone=True, fetched_at=fetched_at
        )
        Account.changed(account_sid)
        return None
    finally:
        note_rate_limit(account_sid, client.last_rate_limit)
    store(account_sid, [item], fetched_at=fetched_at)
    return TrackingValueRequest.objects.get(account_sid=account_sid, impact_id=item.id)


# --- freshness --------------------------------------------------------------------------------


def due_kind(account: Account, *, now: datetime | None = None) -> str | None:
    """Which sync an account is due for: full hourly, open requests more often, else None."""
    now = now or timezone.now()
    full_every = timedelta(minutes=settings.TVR_FULL_SYNC_MINUTES)
    open_every = timedelta(minutes=settings.TVR_SYNC_STALE_MINUTES)
    if account.last_full_sync_at is None or now - account.last_full_sync_at >= full_every:
        return SyncRun.Kind.FULL
    if account.last_synced_at is None or now - account.last_synced_at >= open_every:
        return SyncRun.Kind.OPEN
    return None


def start_in_background(
    account_sid: str, kind: str = SyncRun.Kind.FULL, *, user: Any = None
) -> SyncRun:
    """Claim the slot now (so a second start is told at once), run it on the task worker."""
    from requests_app.tasks import run_sync_task

    run = begin(account_sid, kind, user=user)
    transaction.on_commit(lambda: run_sync_task.enqueue(run.pk))
    return run


def refresh_if_stale(account_sid: str) -> SyncRun | None:
    """Called when someone opens a list: start a background sync if the cache is stale."""
    account, _ = Account.objects.get_or_create(sid=account_sid)
    kind = due_kind(account)
    if kind is None or running_sync(account_sid) is not None:
        return None
    try:
        return start_in_background(account_sid, kind)
    except SyncAlreadyRunning:
        return None


def execute_by_id(run_id: int) -> SyncRun | None:
    run = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.RUNNING).first()
    if run is None:
        return None
    return execute(run)


def mark_decided(request: TrackingValueRequest, state: str) -> None:
    """impact.com accepted a decision but could not be re-read: record the state it must have."""
    now = timezone.now()
    TrackingValueRequest.objects.filter(pk=request.pk, fetched_at__lt=now).update(
        state=state, date_completed=now, fetched_at=now
    )
    Account.changed(request.account_sid)
