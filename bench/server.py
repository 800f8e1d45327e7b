"""The pages over real HTTP: gunicorn (2 sync workers, DJANGO_DEBUG=false) and a closed-loop client.

Each of `clients` threads sends its next request as soon as its last one is answered. The
client checks itself: every answer is counted (sent = answered = good + wrong status + wrong
page + failed), each is a 200 showing the page that was asked for (its fingerprint from the
test-client run: the first row, or the heading), and Little's law (throughput x mean latency =
clients) must come out at the number of clients it ran.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from bench.pages import percentile

ROOT = Path(__file__).resolve().parent.parent
CASES = (
    "open",
    "open + type + campaign",
    "all + type + campaign",
    "open + partner",
    "queue unassigned + type",
    "search, common word",
    "deep page, open",
    "detail",
    "audit",
)
CLIENTS = (1, 4)
REQUESTS = 30  # per case and number of clients


@contextmanager
def gunicorn(sid: str):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = settings.DATABASES["default"]
    env = os.environ | {
        "DJANGO_DEBUG": "false",
        "IMPACT_SANDBOX_ACCOUNT_SID": sid,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "tvr_dashboard.wsgi"),
            *("--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}"),
            *("--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _get(port: int, path: str, cookie: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": "localhost", "Cookie": cookie})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def load(port: int, path: str, cookie: str, expect: str, clients: int, total: int) -> dict:
    """`total` requests for `path` from `clients` closed-loop clients, each answer checked."""
    lock = threading.Lock()
    issued = [0]
    times: list[float] = []
    tally = {"good": 0, "wrong_status": 0, "wrong_page": 0, "failed": 0}
    per_client = [0] * clients

    def run(me: int) -> None:
        while True:
            with lock:
                if issued[0] >= total:
                    return
                issued[0] += 1
            started = time.perf_counter()
            try:
                status, body = _get(port, path, cookie)
                outcome = (
                    "wrong_status" if status != 200 else "good" if expect in body else "wrong_page"
                )
            except OSError:
                outcome = "failed"
            elapsed = time.perf_counter() - started
            with lock:
                times.append(elapsed * 1000)
                tally[outcome] += 1
                per_client[me] += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    times.sort()
    answered = len(times)
    # The client's own arithmetic: every request sent was answered and sorted into one bin.
    assert issued[0] == total == answered == sum(tally.values()) == sum(per_client), (
        issued,
        answered,
        tally,
    )
    throughput = answered / wall
    little = throughput * (sum(times) / answered / 1000)  # should be ~clients
    return {
        "clients": clients,
        "requests": answered,
        **tally,
        "p50": round(percentile(times, 0.5), 1),
        "p95": round(percentile(times, 0.95), 1),
        "p99": round(percentile(times, 0.99), 1),
        "per_second": round(throughput, 1),
        "littles_law_clients": round(little, 2),
    }


def bench_server(out: Any, sids: dict[int, str], measured: dict[int, Any]) -> dict[str, Any]:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG=false serves these
    user = User.objects.get(username="bench-admin")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    results: dict[str, Any] = {}
    for size, sid in sids.items():
        urls = {c["case"]: (c["url"], c["fingerprint"]) for c in measured[size]["cases"]}
        out.write(
            f"\n--- over HTTP: gunicorn, 2 sync workers, DJANGO_DEBUG=false, {size:,} requests "
            f"({connection.vendor}) ---\n"
            f"{'case':26} {'clients':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>6} "
            f"{'good':>5} {'bad':>4} {'L=XW':>5}"
        )
        rows = []
        with gunicorn(sid) as port:
            for case in CASES:
                path, expect = urls[case]
                for _ in range(4):  # each worker's caches warm
                    _get(port, path, cookie)
                for clients in CLIENTS:
                    got = load(port, path, cookie, expect, clients, REQUESTS)
                    bad = got["requests"] - got["good"]
                    out.write(
                        f"{case:26} {clients:7d} {got['p50']:6.1f}  {got['p95']:6.1f}  "
                        f"{got['p99']:6.1f}  {got['per_second']:6.1f} {got['good']:5d} {bad:4d} "
                        f"{got['littles_law_clients']:5.2f}"
                    )
                    rows.append({"case": case, **got})
        results[size] = rows
    return results
