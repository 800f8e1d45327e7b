"""Decisions and syncs against a misbehaving impact.com over real HTTP (tests/impact_server.py).

What must hold whatever impact.com does: a write is sent once; an unknown outcome keeps the
request's slot and is settled to impact.com's truth by reading, never by sending again; the
reviewer's wait ends within IMPACT_INTERACTIVE_TIMEOUT; the credentials go nowhere else and
come back nowhere.
"""

from __future__ import annotations

import base64
import logging
import time
from urllib.parse import quote, quote_plus

import pytest
from django.urls import reverse

from requests_app import decisions, housekeeping, impact, sync
from requests_app.models import AuditEvent, Decision, State, SyncRun, TrackingValueRequest
from tests.conftest import wire_request
from tests.impact_server import ImpactServer, Listener

pytestmark = pytest.mark.django_db

SID = "IRFaulty00000000000000000000001"
TOKEN = "tok/en+Secret==42"  # a slash and a plus, so every encoding differs
BUDGET = 1.0  # IMPACT_INTERACTIVE_TIMEOUT for these tests
PROMO = impact.Approval(
    request_type="PROMOCODE_TRACKING", promo_code="TRAIL20", credit_policy="WINNER", match_mode="LI"
)


@pytest.fixture
def server(settings):
    running = ImpactServer(SID, TOKEN, hang_seconds=BUDGET * 6).start()
    settings.IMPACT_ACCOUNT_SID = SID
    settings.IMPACT_AUTH_TOKEN = TOKEN
    settings.IMPACT_API_BASE_URL = running.url
    settings.IMPACT_INTERACTIVE_TIMEOUT = BUDGET
    settings.IMPACT_READ_TIMEOUT = BUDGET
    settings.IMPACT_READ_RETRIES = 0
    yield running
    running.stop()


def cached(server: ImpactServer, **overrides) -> TrackingValueRequest:
    payload = wire_request(**overrides)
    payload["Uri"] = f"/Advertisers/{SID}/TrackingValueRequests/{payload['Id']}"
    server.add(payload)
    return sync.refresh_one(SID, payload["Id"])


def audit_trail() -> list[tuple[str, str]]:
    return list(AuditEvent.objects.order_by("id").values_list("action", "outcome"))


@pytest.mark.parametrize("fault", ["garbled_2xx", "hang_after_apply", "reset_after_apply"])
def test_a_write_applied_then_lost_is_sent_once_and_settled_as_sent(server, alice, fault):
    row = cached(server)
    server.fail_next("PUT", fault)

    started = time.monotonic()
    decision = decisions.approve(request=row, user=alice, approval=PROMO)
    waited = time.monotonic() - started

    assert [w[0] for w in server.writes()] == ["PUT"]  # never sent again
    assert decision.status == Decision.Status.SENT
    assert audit_trail() == [("approve", "unknown"), ("approve_settled", "success")]
    settled = AuditEvent.objects.get(action="approve_settled")
    assert settled.detail["attempt_event"] == decision.attempt_event_id
    assert waited < BUDGET + 2  # a hang lasts 6 s: only the deadline ends it sooner
    row.refresh_from_db()
    assert row.state == State.APPROVED


def test_a_5xx_after_the_write_was_applied_is_settled_as_sent(server, alice):
    row = cached(server)
    server.fail_next("DELETE", "5xx_after_apply")

    decision = decisions.reject(request=row, user=alice)

    assert [w[0] for w in server.writes()] == ["DELETE"]
    assert decision.status == Decision.Status.SENT
    assert server.state(row.impact_id) == "DECLINED"


def test_a_5xx_that_applied_nothing_fails_after_a_clean_reread_and_frees_the_slot(server, alice):
    row = cached(server)
    server.fail_next("PUT", "5xx_before_apply")

    with pytest.raises(decisions.ImpactFailed, match="did not apply the approve"):
        decisions.approve(request=row, user=alice, approval=PROMO)

    assert audit_trail() == [("approve", "unknown"), ("approve_settled", "failure")]
    # The reviewer may retry by hand: exactly one more PUT, which lands.
    assert decisions.approve(request=row, user=alice, approval=PROMO).status == "sent"
    assert [w[2] for w in server.writes()] == [503, 200]


def test_the_whole_interactive_path_ends_within_the_budget_when_impact_com_hangs(server, alice):
    row = cached(server)
    server.fail_next("PUT", "hang_before_apply")
    server.fail_next("GET", "hang")  # the re-read hangs too

    started = time.monotonic()
    decision = decisions.approve(request=row, user=alice, approval=PROMO)
    waited = time.monotonic() - started

    assert waited < BUDGET + 2  # the hangs last 6 s: only the deadline ends them sooner
    assert decision.status == Decision.Status.UNCONFIRMED  # holds the slot
    with pytest.raises(decisions.AlreadyDecided):
        decisions.approve(request=row, user=alice, approval=PROMO)
    assert len(server.writes()) == 1

    # The worker's sweep re-reads when due: impact.com shows it new, so the slot is freed.
    Decision.objects.filter(pk=decision.pk).update(next_check_at=decision.finished_at)
    housekeeping.sweep()
    decision.refresh_from_db()
    assert decision.status == Decision.Status.FAILED
    assert "still shows the request as new" in decision.response_message


def test_an_unconfirmed_decision_shows_checking_and_offers_no_second_approve(server, alice, client):
    row = cached(server)
    server.fail_next("PUT", "hang_before_apply")
    server.fail_next("GET", "hang")
    decisions.approve(request=row, user=alice, approval=PROMO)
    client.force_login(alice)

    page = client.get(reverse("requests:detail", args=[row.impact_id])).content.decode()

    assert "Checking with impact.com" in page
    assert 'id="approve-form"' not in page
    assert "Nothing will be sent again" in page


def test_a_queued_answer_is_pending_until_impact_com_applies_it(server, alice):
    row = cached(server)
    server.fail_next("PUT", "queued")

    decision = decisions.approve(request=row, user=alice, approval=PROMO)

    assert decision.status == Decision.Status.UNCONFIRMED
    assert decision.queued_uri.endswith("/Queue")
    assert audit_trail() == [("approve", "pending")]
    # Still NEW at impact.com: a queued call is still coming, so it is not failed.
    Decision.objects.filter(pk=decision.pk).update(next_check_at=decision.finished_at)
    housekeeping.sweep()
    decision.refresh_from_db()
    assert decision.status == Decision.Status.UNCONFIRMED

    server.apply_queued()
    Decision.objects.filter(pk=decision.pk).update(next_check_at=decision.finished_at)
    housekeeping.sweep()

    decision.refresh_from_db()
    assert decision.status == Decision.Status.SENT
    assert audit_trail()[-1] == ("approve_settled", "success")
    assert len(server.writes()) == 1


def test_a_sync_settles_unconfirmed_decisions_with_what_it_read(server, alice):
    row = cached(server)
    server.fail_next("PUT", "hang_after_apply")
    server.fail_next("GET", "hang")
    decision = decisions.approve(request=row, user=alice, approval=PROMO)
    assert decision.status == Decision.Status.UNCONFIRMED
    calls_before = len(server.journal)

    run = sync.run_sync(SID)

    assert run.status == SyncRun.Status.SUCCEEDED
    decision.refresh_from_db()
    assert decision.status == Decision.Status.SENT
    # The list page it read was enough: no call of its own for the decision (the account's
    # company and tracking values, read after a full sync, are other endpoints).
    requests_read = [
        (method, path.split("?")[0].rsplit("/", 1)[-1])
        for method, path, _ in server.journal[calls_before:]
        if "/TrackingValueRequests" in path
    ]
    assert requests_read == [("GET", "TrackingValueRequests")]


def test_an_open_only_sync_settles_them_too_through_its_recheck_of_missing_requests(server, alice):
    row = cached(server)
    server.fail_next("PUT", "hang_after_apply")
    server.fail_next("GET", "hang")
    decision = decisions.approve(request=row, user=alice, approval=PROMO)

    run = sync.run_sync(SID, SyncRun.Kind.OPEN)  # the approved request is not in State=NEW

    assert run.status == SyncRun.Status.SUCCEEDED
    decision.refresh_from_db()
    assert decision.status == Decision.Status.SENT


def test_an_error_that_echoes_the_credentials_never_carries_them_anywhere(
    server, alice, admin, client, caplog
):
    row = cached(server)
    server.fail_next("PUT", "echo_auth")
    server.fail_next("GET", "echo_auth", "echo_auth")  # the re-read, then the sync
    caplog.set_level(logging.DEBUG)

    with pytest.raises(decisions.ImpactFailed):
        decisions.approve(request=row, user=alice, approval=PROMO)
    run = sync.run_sync(SID)
    client.force_login(admin)
    page = client.get(reverse("requests:detail", args=[row.impact_id])).content.decode()
    csv = b"".join(client.get(reverse("requests:audit_export")).streaming_content).decode()

    basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    places = {
        "decision": Decision.objects.get().response_message,
        "sync run": run.error,
        "audit": " ".join(str(e.content()) for e in AuditEvent.objects.all()),
        "page": page,
        "csv": csv,
        "log": caplog.text,
    }
    assert "[hidden]" in places["sync run"]
    assert "[hidden]" in places["decision"]
    for where, text in places.items():
        for secret in (TOKEN, basic, quote(TOKEN, safe=""), quote_plus(TOKEN)):
            assert secret not in text, f"the token reached the {where}"


def test_a_next_page_link_to_another_host_is_refused_and_marks_nothing_gone(server, alice):
    rows = [cached(server) for _ in range(3)]
    listener = Listener()
    server.next_page_override = listener.url + f"/Advertisers/{SID}/TrackingValueRequests?Page=2"
    try:
        run = sync.run_sync(SID)
    finally:
        listener.stop()

    assert listener.seen == []  # not even a request, let alone the credentials
    assert run.status == SyncRun.Status.FAILED
    assert "another server" in run.error
    assert not TrackingValueRequest.objects.filter(
        pk__in=[r.pk for r in rows], is_gone=True
    ).exists()


def test_a_scheme_relative_next_page_link_is_refused_too(server):
    cached(server)
    server.next_page_override = "//evil.example/Advertisers/x/TrackingValueRequests?Page=2"

    run = sync.run_sync(SID)

    assert run.status == SyncRun.Status.FAILED
    assert "another server" in run.error


def test_a_walk_with_fewer_requests_than_announced_marks_nothing_gone(server):
    kept = cached(server)
    vanished = cached(server)
    del server.requests[vanished.impact_id]
    server.total_override = "2"  # impact.com says two, its pages hold one

    run = sync.run_sync(SID)

    assert run.status == SyncRun.Status.FAILED
    assert "nothing was marked gone" in run.error
    assert not TrackingValueRequest.objects.filter(is_gone=True).exists()
    kept.refresh_from_db()
    assert kept.is_gone is False

    server.total_override = None  # a consistent walk does mark it gone
    assert sync.run_sync(SID).gone == 1


def test_the_team_page_counts_an_unknown_outcome_only_once_impact_com_settles_it(server, alice):
    from datetime import timedelta

    from django.utils import timezone

    from requests_app import reports

    row = cached(server)
    server.fail_next("PUT", "hang_after_apply")
    server.fail_next("GET", "hang")
    decision = decisions.approve(request=row, user=alice, approval=PROMO)
    since = timezone.now() - timedelta(days=1)
    assert reports.reviewer_stats(SID, since=since) == []

    Decision.objects.filter(pk=decision.pk).update(next_check_at=decision.finished_at)
    housekeeping.sweep()

    (alice_stats,) = reports.reviewer_stats(SID, since=since)
    assert (alice_stats.name, alice_stats.approved) == ("alice", 1)


@pytest.mark.django_db(transaction=True)
def test_sweeps_racing_on_one_unconfirmed_decision_record_one_settling_event(server, alice):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL; SQLite serialises them anyway")
    row = cached(server)
    server.fail_next("PUT", "hang_after_apply")
    server.fail_next("GET", "hang")
    decision = decisions.approve(request=row, user=alice, approval=PROMO)
    assert decision.status == Decision.Status.UNCONFIRMED
    start = threading.Barrier(4)

    def settle() -> None:
        try:
            mine = Decision.objects.select_related("request", "decided_by").get(pk=decision.pk)
            start.wait()
            decisions.settle(mine)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=settle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert AuditEvent.objects.filter(action="approve_settled").count() == 1
    assert Decision.objects.get(pk=decision.pk).status == Decision.Status.SENT
    assert len(server.writes()) == 1


def test_a_queued_call_still_unapplied_after_its_patience_fails_and_the_checks_back_off(
    server, alice, settings
):
    from datetime import timedelta

    from django.utils import timezone

    row = cached(server)
    server.fail_next("PUT", "queued")
    decision = decisions.approve(request=row, user=alice, approval=PROMO)
    waits = []
    for _ in range(3):  # still NEW and within its patience: asked again later, each wait longer
        Decision.objects.filter(pk=decision.pk).update(next_check_at=timezone.now())
        housekeeping.sweep()
        decision.refresh_from_db()
        waits.append(decision.next_check_at - timezone.now())
    assert decision.status == Decision.Status.UNCONFIRMED
    assert waits[0] < waits[1] < waits[2]

    long_ago = timezone.now() - timedelta(hours=settings.TVR_QUEUED_PATIENCE_HOURS + 1)
    Decision.objects.filter(pk=decision.pk).update(finished_at=long_ago, next_check_at=long_ago)
    housekeeping.sweep()

    decision.refresh_from_db()
    assert decision.status == Decision.Status.FAILED
    assert len(server.writes()) == 1
