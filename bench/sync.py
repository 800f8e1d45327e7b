"""`python -m bench sync`: sandbox requests synced over real HTTP from a `run_sandbox`
process, against a bare loop that only downloads and decodes the same pages."""

from __future__ import annotations

import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from contextlib import contextmanager
from typing import Any

import urllib3
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests_app import impact, sync
from requests_app.models import SyncRun, TrackingValueRequest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def sandbox_server() -> Any:
    """`manage.py run_sandbox` in its own process, as any client would meet it."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_sandbox", "--port", str(port)],
        cwd=settings.BASE_DIR,
        env=os.environ | {"IMPACT_SANDBOX_HOURLY_LIMIT": "1000000"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("run_sandbox did not start listening within 30 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def bare_download(base_url: str, sid: str, token: str, page_size: int) -> tuple[float, int, int]:
    """Only download every page (keep-alive, follow @nextpageuri): the floor a sync can reach."""
    http = urllib3.PoolManager()
    headers = urllib3.make_headers(basic_auth=f"{sid}:{token}") | {"Accept": "application/json"}
    path = f"/Advertisers/{sid}/TrackingValueRequests?PageSize={page_size}"
    started = time.perf_counter()
    pages = size = 0
    while path:
        response = http.request("GET", base_url + path, headers=headers)
        size += len(response.data)
        pages += 1
        path = json.loads(response.data).get("@nextpageuri", "")
    return time.perf_counter() - started, pages, size


def bench_sync(out: Any, count: int, page_size: int, repeat: int) -> dict[str, Any]:
    sid = settings.IMPACT_SANDBOX_ACCOUNT_SID
    token = settings.IMPACT_SANDBOX_AUTH_TOKEN
    started = time.perf_counter()
    call_command("seed_sandbox", count=count, seed=1, reset=True, verbosity=0)
    out.write(f"seeded {count:,} sandbox requests in {time.perf_counter() - started:.1f}s")

    def client(base_url: str) -> impact.ImpactClient:
        return impact.ImpactClient(
            base_url=base_url, account_sid=sid, auth_token=token, page_size=page_size
        )

    def clear_cache() -> None:
        TrackingValueRequest.objects.all().delete()
        SyncRun.objects.all().delete()

    bare, cold, warm = [], [], []
    with sandbox_server() as base_url:
        for _ in range(repeat):
            seconds, pages, size = bare_download(base_url, sid, token, page_size)
            bare.append(seconds)
            clear_cache()
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                run = sync.run_sync(sid, client=client(base_url))
                cold.append(time.perf_counter() - t0)
            assert run.status == "succeeded" and run.created == count, run.error
            cold_queries = len(queries)
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                run = sync.run_sync(sid, client=client(base_url))
                warm.append(time.perf_counter() - t0)
            assert run.unchanged == count, (run.created, run.updated, run.unchanged)
            warm_queries = len(queries)
        # Peak memory of a cold sync at a fifth of the size and at full size: flat means
        # memory grows with the page, not with the number of pages.
        peaks = {}
        for rows in (count // 5, count):
            call_command("seed_sandbox", count=rows, seed=1, reset=True, verbosity=0)
            clear_cache()
            gc.collect()
            tracemalloc.start()
            sync.run_sync(sid, client=client(base_url))
            peaks[rows] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    figures = {
        "requests": count,
        "page_size": page_size,
        "pages": pages,
        "page_bytes_mb": round(size / 2**20, 1),
        "bare_download_s": round(statistics.median(bare), 3),
        "sync_s": round(statistics.median(cold), 3),
        "resync_unchanged_s": round(statistics.median(warm), 3),
        "requests_per_s": round(count / statistics.median(cold)),
        "ratio_sync_to_bare": round(statistics.median(cold) / statistics.median(bare), 2),
        "ratio_resync_to_bare": round(statistics.median(warm) / statistics.median(bare), 2),
        "queries_per_page_sync": round(cold_queries / pages, 1),
        "queries_per_page_resync": round(warm_queries / pages, 1),
        "peak_memory_mb": round(peaks[count], 1),
        f"peak_memory_mb_at_{count // 5}": round(peaks[count // 5], 1),
    }
    for key, value in figures.items():
        out.write(f"  {key:<26} {value}")
    return figures
