"""Sync benchmark: a full sync beside a bare download of the same pages.

`python -m bench sync` (what `make bench` runs, once per DATABASE_URL). A stand-in impact.com
(bench/standin.py) serves prepared pages from memory in its own process, so the floor is the
network and JSON decoding. For a tenth of --requests and all of them (10,000 and 100,000 by
default), pages of 1,000, it prints the bare
download (keep-alive, decode every page), a cold sync into an empty cache, a re-sync with
nothing changed, queries per page and the peak Python memory of a cold sync. Figures only:
nothing here passes or fails.
"""

from __future__ import annotations

import gc
import json
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def standin(count: int, page_size: int) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.standin", "--requests", str(count)),
            *("--page-size", str(page_size), "--port", str(port)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the stand-in did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def bare_download(base_url: str, page_size: int) -> tuple[float, int, int]:
    """Download and decode every page, following @nextpageuri: the floor a sync can reach."""
    import urllib3

    from bench.standin import SID, TOKEN

    http = urllib3.PoolManager()
    headers = urllib3.make_headers(basic_auth=f"{SID}:{TOKEN}") | {"Accept": "application/json"}
    path = f"/Advertisers/{SID}/TrackingValueRequests?Page=1&PageSize={page_size}"
    started = time.perf_counter()
    pages = size = 0
    while path:
        data = http.request("GET", base_url + path, headers=headers).data
        size += len(data)
        pages += 1
        path = json.loads(data).get("@nextpageuri", "")
    return time.perf_counter() - started, pages, size


def bench(count: int, page_size: int, repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.standin import SID, TOKEN
    from requests_app import impact, sync
    from requests_app.models import SyncRun, TrackingValueRequest

    def client(url: str) -> impact.ImpactClient:
        return impact.ImpactClient(
            base_url=url, account_sid=SID, auth_token=TOKEN, page_size=page_size
        )

    def empty_cache() -> None:
        TrackingValueRequest.objects.filter(account_sid=SID).delete()
        SyncRun.objects.filter(account_sid=SID).delete()

    def timed_sync(url: str) -> tuple[float, int]:
        gc.collect()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            run = sync.run_sync(SID, client=client(url))
            seconds = time.perf_counter() - started
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        return seconds, len(queries)

    with standin(count, page_size) as url:
        bare = [bare_download(url, page_size) for _ in range(repeat)]
        pages, size = bare[0][1], bare[0][2]
        cold, warm = [], []
        for _ in range(repeat):
            empty_cache()
            cold.append(timed_sync(url))
            warm.append(timed_sync(url))
        empty_cache()
        tracemalloc.start()
        sync.run_sync(SID, client=client(url))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    bare_s = statistics.median(b[0] for b in bare)
    cold_s = statistics.median(c[0] for c in cold)
    warm_s = statistics.median(w[0] for w in warm)
    return {
        "requests": count,
        "pages": pages,
        "megabytes": round(size / 2**20, 1),
        "bare_download_s": round(bare_s, 3),
        "sync_s": round(cold_s, 3),
        "resync_unchanged_s": round(warm_s, 3),
        "requests_per_s": round(count / cold_s),
        "ratio_sync_to_bare": round(cold_s / bare_s, 2),
        "ratio_resync_to_bare": round(warm_s / bare_s, 2),
        "queries_per_page_sync": round(cold[0][1] / pages, 1),
        "queries_per_page_resync": round(warm[0][1] / pages, 1),
        "peak_mib": round(peak / 2**20, 1),
    }


def bench_sync(out: Any, count: int, page_size: int, repeat: int) -> list[dict[str, Any]]:
    """The table for a tenth of `count` and for `count`: growth shows what is not flat."""
    results = []
    for size in (max(1, count // 10), count):
        result = bench(size, page_size, repeat)
        results.append(result)
        out.write(
            f"{size:>7,} requests, {result['pages']} pages ({result['megabytes']} MB): "
            f"bare {result['bare_download_s']:.2f}s | sync {result['sync_s']:.2f}s "
            f"({result['ratio_sync_to_bare']}x, {result['requests_per_s']:,}/s) | re-sync "
            f"{result['resync_unchanged_s']:.2f}s ({result['ratio_resync_to_bare']}x) | "
            f"queries/page {result['queries_per_page_sync']} / "
            f"{result['queries_per_page_resync']} | peak {result['peak_mib']} MiB"
        )
    return results
