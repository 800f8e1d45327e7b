"""A worker killed with SIGKILL mid-send or mid-sync costs seconds, not ten minutes.

Real processes (`manage.py db_worker`, `manage.py sync_requests`) against a real database and
a real HTTP impact.com that hangs; the test kills them and watches what the next worker does.
PostgreSQL only: another process cannot open the test run's in-memory SQLite database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from requests_app import sync
from requests_app.models import AuditEvent, Decision, SyncRun
from tests.conftest import wire_request
from tests.impact_server import ImpactServer

pytestmark = pytest.mark.django_db(transaction=True)

SID = "IRCrash000000000000000000000001"
TOKEN = "crash-test-token"
ROOT = Path(__file__).resolve().parent.parent
LEASE = 3  # seconds: TVR_SYNC_LEASE_SECONDS, and the decision lease (budget 2 + margin 1)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("another process cannot open the in-memory SQLite test database")


@pytest.fixture
def server(settings) -> Iterator[ImpactServer]:
    running = ImpactServer(SID, TOKEN, hang_seconds=60).start()
    settings.IMPACT_ACCOUNT_SID = SID
    settings.IMPACT_AUTH_TOKEN = TOKEN
    settings.IMPACT_API_BASE_URL = running.url
    settings.TVR_SYNC_LEASE_SECONDS = LEASE
    yield running
    running.stop()


@pytest.fixture
def spawn(server, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `manage.py <args>` in a new process on the test database and this impact.com."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "IMPACT_ACCOUNT_SID": SID,
        "IMPACT_AUTH_TOKEN": TOKEN,
        "IMPACT_API_BASE_URL": server.url,
        "IMPACT_INTERACTIVE_TIMEOUT": "2",
        "IMPACT_READ_TIMEOUT": "60",
        "TVR_DECISION_LEASE_MARGIN_SECONDS": "1",
        "TVR_SYNC_LEASE_SECONDS": str(LEASE),
        "TVR_SYNC_HEARTBEAT_SECONDS": "0.5",
        "TVR_SWEEP_SECONDS": "0.5",
        "TVR_DECISION_DELAY_SECONDS": "0",
        "TVR_SCHEDULED_SYNCS": "false",  # only the syncs a test starts
    }
    started: list[subprocess.Popen] = []

    def start(*args: str, **more_env: str) -> subprocess.Popen:
        log = open(tmp_path / f"{args[0]}-{len(started)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env | more_env,
            stdout=log,
            stderr=log,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def worker(spawn) -> subprocess.Popen:
    return spawn("db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2")


def wait_for(condition: Callable[[], bool], seconds: float) -> float:
    """Seconds until condition() held; fails after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"not within {seconds} s")


def hung(server: ImpactServer, method: str) -> Callable[[], bool]:
    return lambda: any(entry[0] == method and entry[2] == "hung" for entry in server.journal)


def test_a_worker_killed_mid_send_is_taken_over_and_settled_by_the_next_worker(
    server, spawn, alice
):
    payload = wire_request()
    payload["Uri"] = f"/Advertisers/{SID}/TrackingValueRequests/{payload['Id']}"
    server.add(payload)
    row = sync.refresh_one(SID, payload["Id"])
    decision = Decision.objects.create(
        request=row,
        action="approve",
        status="queued",
        send_after=timezone.now(),
        decided_by=alice,
        sent={"PromoCode": "TRAIL20", "CreditPolicy": "WINNER", "MatchMode": "LI"},
    )
    server.fail_next("PUT", "hang_after_apply")  # impact.com applies it, the answer never comes

    first = worker(spawn)  # its sweep sends the due decision
    wait_for(hung(server, "PUT"), 30)
    first.send_signal(signal.SIGKILL)
    first.wait()
    decision.refresh_from_db()
    assert decision.status == Decision.Status.SENDING

    killed_at = time.monotonic()
    worker(spawn)
    wait_for(lambda: Decision.objects.get(pk=decision.pk).status == "sent", 30)

    assert time.monotonic() - killed_at < 60
    assert [w[0] for w in server.writes()] == ["PUT"]  # taken over by reading, not resending
    trail = list(AuditEvent.objects.order_by("id").values_list("action", "outcome"))
    assert trail == [("approve", "unknown"), ("approve_settled", "success")]


def test_a_sync_killed_mid_walk_frees_its_slot_within_the_lease(server, spawn, settings):
    for _ in range(3):
        payload = wire_request()
        server.add(payload)
    server.fail_next("GET", "", "hang")  # page 1 answers, page 2 hangs

    syncing = spawn("sync_requests", IMPACT_PAGE_SIZE="2")
    wait_for(hung(server, "GET"), 30)
    time.sleep(LEASE + 1)  # longer than the lease: only the heartbeat keeps the slot
    with pytest.raises(sync.SyncAlreadyRunning):
        sync.begin(SID)

    syncing.send_signal(signal.SIGKILL)
    syncing.wait()
    killed_at = time.monotonic()
    worker(spawn)  # the worker's sweep frees the slot by itself
    wait_for(lambda: not SyncRun.objects.filter(status="running").exists(), 30)

    assert time.monotonic() - killed_at < LEASE + 10
    dead = SyncRun.objects.get(kind="full")
    assert "Abandoned" in dead.error
    assert sync.begin(SID).status == SyncRun.Status.RUNNING
