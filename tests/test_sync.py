"""sync.py: the cache's one writer (fake impact.com at our own boundary)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from requests_app import impact, sync
from requests_app.models import Account, State, SyncRun, TrackingValueRequest
from tests.conftest import wire_request
from tests.fakes import FakeImpact

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["page-by-page", "read-ahead"])
def fake(monkeypatch, request) -> FakeImpact:
    """Every sync test runs twice: fetching in the writing thread, and reading ahead in a
    second thread as the sync does over HTTP."""
    client = FakeImpact(
        [wire_request(State=s) for s in ["NEW"] * 5 + ["APPROVED"] * 3 + ["DECLINED"] * 2],
        over_network=request.param,
    )
    monkeypatch.setattr(impact, "get_client", lambda account_sid=None: client)
    return client


def rows(sandbox_sid: str) -> dict[str, TrackingValueRequest]:
    return {r.impact_id: r for r in TrackingValueRequest.objects.filter(account_sid=sandbox_sid)}


def test_full_sync_caches_every_request_with_its_list_columns(fake, sandbox_sid):
    run = sync.run_sync(sandbox_sid)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.created, run.updated, run.unchanged, run.gone) == (10, 0, 0, 0)
    assert (run.pages_done, run.pages_total) == (4, 4)
    cached = rows(sandbox_sid)
    assert set(cached) == set(fake.payloads)
    one = cached[next(iter(fake.payloads))]
    assert one.media_partner_name == "Trail Deals Weekly"
    assert one.campaign_id == 1000
    assert one.requested_value == "TRAIL20"
    assert one.payload == fake.payloads[one.impact_id]
    assert Account.objects.get(sid=sandbox_sid).last_full_sync_at is not None


def test_running_the_same_sync_twice_changes_nothing(fake, sandbox_sid):
    sync.run_sync(sandbox_sid)
    before = {i: (r.payload_hash, r.state, r.first_seen_at) for i, r in rows(sandbox_sid).items()}

    again = sync.run_sync(sandbox_sid)

    assert (again.created, again.updated, again.unchanged, again.gone) == (0, 0, 10, 0)
    after = {i: (r.payload_hash, r.state, r.first_seen_at) for i, r in rows(sandbox_sid).items()}
    assert after == before


def test_a_changed_request_is_updated_and_counted(fake, sandbox_sid):
    sync.run_sync(sandbox_sid)
    changed = next(p for p in fake.payloads.values() if p["State"] == "NEW")
    changed["State"] = "APPROVED"
    changed["DateCompleted"] = timezone.now().isoformat()

    run = sync.run_sync(sandbox_sid)

    assert (run.created, run.updated, run.unchanged) == (0, 1, 9)
    assert rows(sandbox_sid)[changed["Id"]].state == State.APPROVED


def test_a_re_sync_types_only_the_requests_that_changed(fake, sandbox_sid, monkeypatch):
    sync.run_sync(sandbox_sid)
    changed = next(iter(fake.payloads.values()))
    changed["AdditionalInstructions"] = "Edited since the last sync."
    parse = impact.TrackingValueRequest.parse
    typed: list[str] = []

    def counting_parse(raw, **kwargs):
        typed.append(raw["Id"])
        return parse(raw, **kwargs)

    monkeypatch.setattr(impact.TrackingValueRequest, "parse", counting_parse)
    run = sync.run_sync(sandbox_sid)

    assert (run.updated, run.unchanged) == (1, 9)
    assert typed == [changed["Id"]]  # the other nine were compared by hash, never parsed
    assert rows(sandbox_sid)[changed["Id"]].additional_instructions == "Edited since the last sync."


def test_requests_impact_stopped_returning_are_marked_gone_not_deleted(fake, sandbox_sid):
    sync.run_sync(sandbox_sid)
    removed = next(iter(fake.payloads))
    del fake.payloads[removed]

    run = sync.run_sync(sandbox_sid)

    assert run.gone == 1
    cached = rows(sandbox_sid)
    assert cached[removed].is_gone is True
    assert sum(r.is_gone for r in cached.values()) == 1


def test_a_gone_request_that_comes_back_is_live_again(fake, sandbox_sid):
    sync.run_sync(sandbox_sid)
    removed_id = next(iter(fake.payloads))
    removed = fake.payloads.pop(removed_id)
    sync.run_sync(sandbox_sid)
    fake.payloads[removed_id] = removed

    run = sync.run_sync(sandbox_sid)

    assert run.updated == 1
    assert rows(sandbox_sid)[removed_id].is_gone is False


def test_an_interrupted_sync_keeps_whole_pages_records_the_error_and_marks_nothing_gone(
    fake, sandbox_sid
):
    sync.run_sync(sandbox_sid)
    for payload in fake.payloads.values():
        payload["CampaignName"] = "Renamed"
    fake.fail_on_page = 3

    run = sync.run_sync(sandbox_sid)

    assert run.status == SyncRun.Status.FAILED
    assert "503" in run.error
    assert run.pages_done == 2
    names = [r.campaign_name for r in TrackingValueRequest.objects.order_by("id")]
    # Pages 1-2 (6 rows) are new, the rest old: never a half-written page, nothing gone.
    assert names.count("Renamed") == 6
    assert names.count("Acme Outdoor US") == 4
    assert not TrackingValueRequest.objects.filter(is_gone=True).exists()
    assert Account.objects.get(sid=sandbox_sid).last_full_sync_at is not None  # from run 1


def test_a_second_sync_of_the_same_account_is_refused_while_one_runs(fake, sandbox_sid):
    first = sync.begin(sandbox_sid)

    with pytest.raises(sync.SyncAlreadyRunning) as refused:
        sync.begin(sandbox_sid, SyncRun.Kind.OPEN)

    assert refused.value.run == first


def test_another_account_and_single_refreshes_may_sync_beside_a_running_sync(fake, sandbox_sid):
    sync.begin(sandbox_sid)

    assert sync.begin("IRanotherAccount").status == SyncRun.Status.RUNNING
    assert sync.begin(sandbox_sid, SyncRun.Kind.ONE).status == SyncRun.Status.RUNNING


def test_a_sync_whose_worker_died_frees_the_slot_once_its_lease_lapses(fake, sandbox_sid, settings):
    dead = sync.begin(sandbox_sid)
    SyncRun.objects.filter(pk=dead.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.TVR_SYNC_LEASE_SECONDS - 5)
    )
    with pytest.raises(sync.SyncAlreadyRunning):  # lease still running: the slot is taken
        sync.run_sync(sandbox_sid)
    SyncRun.objects.filter(pk=dead.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.TVR_SYNC_LEASE_SECONDS + 1)
    )

    sync.run_sync(sandbox_sid)

    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED
    assert "Abandoned" in dead.error


def test_the_sync_command_refuses_to_start_beside_a_running_sync(fake, sandbox_sid):
    sync.begin(sandbox_sid)

    with pytest.raises(CommandError, match="already running"):
        call_command("sync_requests")


def test_the_sync_command_prints_progress_and_a_summary(fake, sandbox_sid, capsys):
    call_command("sync_requests")

    out = capsys.readouterr().out
    assert "page 1/4" in out
    assert "Done: 4 pages, 10 new, 0 changed, 0 unchanged, 0 gone" in out


def test_the_sync_command_fails_loudly_when_impact_com_fails(fake, sandbox_sid):
    fake.fail_on_page = 1

    with pytest.raises(CommandError, match="503"):
        call_command("sync_requests", "--quiet")


def test_open_only_sync_asks_for_new_requests_and_rechecks_open_ones_it_missed(fake, sandbox_sid):
    sync.run_sync(sandbox_sid)
    decided = next(p for p in fake.payloads.values() if p["State"] == "NEW")
    decided["State"] = "DECLINED"
    removed = next(p["Id"] for p in fake.payloads.values() if p["State"] == "NEW")
    del fake.payloads[removed]
    fake.calls.clear()

    run = sync.run_sync(sandbox_sid, SyncRun.Kind.OPEN)

    assert fake.calls[0] == ("list", {"state": "NEW"})
    assert sorted(c[1] for c in fake.calls[1:]) == sorted([decided["Id"], removed])
    cached = rows(sandbox_sid)
    assert cached[decided["Id"]].state == State.DECLINED
    assert cached[removed].is_gone is True
    assert run.gone == 1
    assert run.created == 0 and run.unchanged == 3


def test_refresh_one_stores_the_latest_answer(fake, sandbox_sid):
    sync.run_sync(sandbox_sid)
    payload = next(iter(fake.payloads.values()))
    payload["State"] = "APPROVED"

    row = sync.refresh_one(sandbox_sid, payload["Id"])

    assert row is not None and row.state == State.APPROVED


def test_refresh_one_marks_a_request_impact_no_longer_has_as_gone(fake, sandbox_sid):
    sync.run_sync(sandbox_sid)
    request_id = next(iter(fake.payloads))
    del fake.payloads[request_id]

    assert sync.refresh_one(sandbox_sid, request_id) is None
    assert rows(sandbox_sid)[request_id].is_gone is True


def test_an_older_answer_never_overwrites_a_newer_row(sandbox_sid):
    payload = wire_request(State="NEW")
    newer = timezone.now()
    sync.store(
        sandbox_sid,
        [impact.TrackingValueRequest.parse(dict(payload, State="APPROVED"))],
        fetched_at=newer,
    )

    counts = sync.store(
        sandbox_sid,
        [impact.TrackingValueRequest.parse(payload)],
        fetched_at=newer - timedelta(seconds=5),
    )

    assert counts.skipped_older == 1
    assert TrackingValueRequest.objects.get(impact_id=payload["Id"]).state == State.APPROVED


def test_a_page_is_stored_with_a_constant_number_of_queries(
    sandbox_sid, django_assert_max_num_queries
):
    small = [impact.TrackingValueRequest.parse(wire_request()) for _ in range(5)]
    large = [impact.TrackingValueRequest.parse(wire_request()) for _ in range(400)]
    now = timezone.now()
    Account.objects.get_or_create(sid=sandbox_sid)  # as sync.begin makes sure

    # savepoint, read, (PostgreSQL: stage table, COPY, insert from it, truncate | SQLite: one
    # executemany), data version, release; an unchanged re-store only reads, once.
    with django_assert_max_num_queries(8):
        sync.store(sandbox_sid, small, fetched_at=now)
    with django_assert_max_num_queries(8):
        sync.store(sandbox_sid, large, fetched_at=now)
    with django_assert_max_num_queries(1) as unchanged:  # one read
        sync.store(sandbox_sid, large, fetched_at=timezone.now())
    assert not [
        q for q in unchanged.captured_queries if "INSERT" in q["sql"] or "UPDATE" in q["sql"]
    ]


def test_the_api_budget_impact_reports_is_kept_on_the_account(fake, sandbox_sid):
    fake.last_rate_limit = impact.RateLimit(limit=1000, remaining=640, reset_at=None)

    run = sync.run_sync(sandbox_sid)

    account = Account.objects.get(sid=sandbox_sid)
    assert (account.rate_limit, account.rate_remaining) == (1000, 640)
    assert (run.rate_limit, run.rate_remaining) == (1000, 640)
    assert account.budget_share == pytest.approx(0.64)


def test_the_sync_paces_itself_when_the_budget_runs_low(fake, sandbox_sid, settings):
    settings.TVR_SYNC_MAX_PAUSE_SECONDS = 30
    reset = timezone.now() + timedelta(seconds=600)
    fake.last_rate_limit = impact.RateLimit(limit=1000, remaining=100, reset_at=reset)
    pauses: list[float] = []

    sync.run_sync(sandbox_sid, sleep=pauses.append)

    assert len(pauses) == 4
    assert all(5 < p <= 6.01 for p in pauses)  # 600 s left / 100 calls


def test_the_sync_does_not_pause_while_the_budget_is_healthy(fake, sandbox_sid):
    fake.last_rate_limit = impact.RateLimit(limit=1000, remaining=900, reset_at=None)
    pauses: list[float] = []

    sync.run_sync(sandbox_sid, sleep=pauses.append)

    assert pauses == []


def test_a_background_sync_claims_the_slot_at_once_and_runs_on_the_task_worker(
    fake, sandbox_sid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = sync.start_in_background(sandbox_sid, SyncRun.Kind.FULL)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert TrackingValueRequest.objects.count() == 10


def test_a_stale_cache_asks_for_a_full_sync_then_open_syncs_then_nothing(sandbox_sid, settings):
    settings.TVR_FULL_SYNC_MINUTES = 60
    settings.TVR_SYNC_STALE_MINUTES = 10
    now = timezone.now()
    account = Account(sid=sandbox_sid)
    assert sync.due_kind(account, now=now) == SyncRun.Kind.FULL

    account.last_full_sync_at = account.last_synced_at = now - timedelta(minutes=20)
    assert sync.due_kind(account, now=now) == SyncRun.Kind.OPEN

    account.last_synced_at = now - timedelta(minutes=2)
    assert sync.due_kind(account, now=now) is None


def test_opening_a_stale_list_starts_one_background_sync_only(
    fake, sandbox_sid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = sync.refresh_if_stale(sandbox_sid)
        second = sync.refresh_if_stale(sandbox_sid)

    assert first is not None and first.kind == SyncRun.Kind.FULL
    assert second is None
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_two_processes_starting_a_sync_at_once_get_exactly_one(sandbox_sid):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL; SQLite serialises them anyway")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def start() -> None:
        from django.db import connections

        try:
            barrier.wait()
            sync.begin(sandbox_sid)
            outcomes.append("started")
        except sync.SyncAlreadyRunning:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "refused", "refused", "started"]


# The reviewer acts from inside the page source, so the page source must run in this thread.
@pytest.mark.parametrize("fake", [False], indirect=True, ids=["page-by-page"])
def test_a_sync_that_read_a_page_before_a_decision_does_not_put_it_back_to_new(
    fake, sandbox_sid, alice
):
    from requests_app import decisions

    sync.run_sync(sandbox_sid)
    target = next(p["Id"] for p in fake.payloads.values() if p["State"] == "NEW")
    row = TrackingValueRequest.objects.get(impact_id=target)
    list_pages = fake.iter_pages

    def pages_with_a_decision_in_flight(**filters):
        for page in list_pages(**filters):
            if any(item.id == target for item in page.items):
                # impact.com answered this page (NEW); a reviewer rejects before it is stored.
                decisions.reject(request=row, user=alice)
            yield page

    fake.iter_pages = pages_with_a_decision_in_flight

    sync.run_sync(sandbox_sid)

    row.refresh_from_db()
    assert row.state == State.DECLINED


@pytest.mark.parametrize("bad_id", ["12\x003", "9" * 40, "12\n3"])
def test_a_request_whose_id_no_request_could_have_fails_the_sync_clearly(fake, sandbox_sid, bad_id):
    # A NUL was cut out of the stored copy (so the request came back as a new one on every
    # sync, SQLite) or crashed the walk with a database error (PostgreSQL); too long, the same.
    fake.payloads.clear()
    hostile = wire_request() | {"Id": bad_id}
    fake.payloads[bad_id] = hostile

    run = sync.run_sync(sandbox_sid)

    assert run.status == SyncRun.Status.FAILED
    assert "Id is longer than 32 characters or holds control characters" in run.error
    assert not TrackingValueRequest.objects.filter(account_sid=sandbox_sid).exists()


def test_an_id_with_quotes_and_non_ascii_characters_is_kept_as_sent(fake, sandbox_sid):
    fake.payloads.clear()
    odd = "é\"',;{}[]\\u0000"
    fake.payloads[odd] = wire_request() | {"Id": odd}

    assert sync.run_sync(sandbox_sid).status == SyncRun.Status.SUCCEEDED
    again = sync.run_sync(sandbox_sid)

    assert (again.created, again.unchanged) == (0, 1)
    assert list(TrackingValueRequest.objects.values_list("impact_id", flat=True)) == [odd]


def test_a_walk_writes_its_progress_at_most_once_a_second_and_whole_at_the_end(
    fake, sandbox_sid, monkeypatch
):
    monkeypatch.setattr(sync, "PROGRESS_SECONDS", 3600)
    stored_while_walking = []

    run = sync.run_sync(
        sandbox_sid,
        progress=lambda run: stored_while_walking.append(
            SyncRun.objects.values_list("pages_done", flat=True).get(pk=run.pk)
        ),
    )

    assert stored_while_walking == [0, 0, 0, 0]  # four pages, nothing written between them
    stored = SyncRun.objects.get(pk=run.pk)
    assert (stored.pages_done, stored.created, stored.api_calls) == (4, 10, 4)


def test_a_slow_walk_shows_its_progress_as_it_goes(fake, sandbox_sid, monkeypatch):
    monkeypatch.setattr(sync, "PROGRESS_SECONDS", 0)
    stored_while_walking = []

    sync.run_sync(
        sandbox_sid,
        progress=lambda run: stored_while_walking.append(
            SyncRun.objects.values_list("pages_done", flat=True).get(pk=run.pk)
        ),
    )

    assert stored_while_walking == [1, 2, 3, 4]
