"""Sync benchmark: a full sync beside a bare download of the same pages.

`python -m bench sync` (what `make bench` runs, once per DATABASE_URL). A stand-in impact.com
(bench/standin.py) serves prepared pages from memory in its own process, so the floor is the
network and JSON decoding. For a tenth of --requests and all of them (10,000 and 100,000 by
default), pages of 1,000, it prints the bare download (keep-alive, every page decoded with the
client's own decoder), a cold sync into an empty cache, a re-sync with nothing changed, a
re-sync with 1% of the requests edited (a second stand-in serves those), their ratios to the
bare download, queries per page and the peak Python memory of a cold sync; then, for the smaller
size, the same against a stand-in that takes PAGE_MS to build each page, as a real server does,
where the sync's own work overlaps the wait for the next page. On PostgreSQL the
table is vacuumed and analysed after the cache is emptied and after the cold sync, as
autovacuum would between syncs in life (the bench deletes 100,000 rows a run, which no
deployment does). Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import gc
import os
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
def standin(
    count: int, page_size: int, changed: float = 0.0, page_ms: float = 0.0
) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.standin", "--requests", str(count)),
            *("--page-size", str(page_size), "--port", str(port), "--changed", str(changed)),
            *("--page-ms", str(page_ms)),
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
    from requests_app.impact import decode_json

    http = urllib3.PoolManager()
    headers = urllib3.make_headers(basic_auth=f"{SID}:{TOKEN}") | {"Accept": "application/json"}
    path = f"/Advertisers/{SID}/TrackingValueRequests?Page=1&PageSize={page_size}"
    started = time.perf_counter()
    pages = size = 0
    while path:
        data = http.request("GET", base_url + path, headers=headers).data
        size += len(data)
        pages += 1
        path = decode_json(data).get("@nextpageuri", "")
    return time.perf_counter() - started, pages, size


def bench(count: int, page_size: int, repeat: int) -> dict[str, Any]:
    from django.db import connection

    from bench.standin import SID, TOKEN
    from requests_app import impact, sync
    from requests_app.models import SyncRun, TrackingValueRequest

    def client(url: str) -> impact.ImpactClient:
        return impact.ImpactClient(
            base_url=url, account_sid=SID, auth_token=TOKEN, page_size=page_size
        )

    def vacuum() -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {TrackingValueRequest._meta.db_table}")

    def empty_cache() -> None:
        TrackingValueRequest.objects.filter(account_sid=SID).delete()
        SyncRun.objects.filter(account_sid=SID).delete()
        vacuum()

    def timed_sync(url: str) -> tuple[float, int, SyncRun]:
        gc.collect()
        queries = 0

        def count(execute: Any, *args: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(*args)

        # Counted by an execute wrapper, not CaptureQueriesContext: that one keeps every
        # statement's text with its values (a megabyte per SQLite upsert), inside the timing.
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            run = sync.run_sync(SID, client=client(url))
            seconds = time.perf_counter() - started
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        return seconds, queries, run

    with standin(count, page_size) as url, standin(count, page_size, 0.01) as edited:
        bare = [bare_download(url, page_size) for _ in range(repeat)]
        pages, size = bare[0][1], bare[0][2]
        cold, warm, changed = [], [], []
        for _ in range(repeat):
            empty_cache()
            cold.append(timed_sync(url))
            vacuum()
            warm.append(timed_sync(url))
            changed.append(timed_sync(edited))
            assert changed[-1][2].updated == -(-count // 100), changed[-1][2].updated
            timed_sync(url)  # back to the first version, for the next round
        empty_cache()
        tracemalloc.start()
        sync.run_sync(SID, client=client(url))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    bare_s = statistics.median(b[0] for b in bare)
    cold_s = statistics.median(c[0] for c in cold)
    warm_s = statistics.median(w[0] for w in warm)
    changed_s = statistics.median(c[0] for c in changed)
    return {
        "requests": count,
        "pages": pages,
        "megabytes": round(size / 2**20, 1),
        "bare_download_s": round(bare_s, 3),
        "bare_download_range_s": [
            round(min(b[0] for b in bare), 3),
            round(max(b[0] for b in bare), 3),
        ],
        "sync_s": round(cold_s, 3),
        "sync_range_s": [round(min(c[0] for c in cold), 3), round(max(c[0] for c in cold), 3)],
        "resync_unchanged_s": round(warm_s, 3),
        "resync_unchanged_range_s": [
            round(min(w[0] for w in warm), 3),
            round(max(w[0] for w in warm), 3),
        ],
        "resync_changed_s": round(changed_s, 3),
        "resync_changed_range_s": [
            round(min(c[0] for c in changed), 3),
            round(max(c[0] for c in changed), 3),
        ],
        "requests_per_s": round(count / cold_s),
        "ratio_sync_to_bare": round(cold_s / bare_s, 2),
        "ratio_resync_to_bare": round(warm_s / bare_s, 2),
        "ratio_changed_to_bare": round(changed_s / bare_s, 2),
        "queries_per_page_sync": round(cold[0][1] / pages, 1),
        "queries_per_page_resync": round(warm[0][1] / pages, 1),
        "peak_mib": round(peak / 2**20, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


# A server that takes this long to build a page of 1,000, as impact.com-compatible servers do
# (the independent one behind the sync-speed issue took about 44 ms): the sync's own work then
# runs while the next page is being built, as it would against impact.com.
PAGE_MS = 40.0


def bench_paced(count: int, page_size: int, repeat: int) -> dict[str, Any]:
    """Bare download, cold sync and unchanged re-sync against a stand-in taking PAGE_MS a page."""
    from django.db import connection

    from bench.standin import SID, TOKEN
    from requests_app import impact, sync
    from requests_app.models import SyncRun, TrackingValueRequest

    def timed(url: str) -> float:
        started = time.perf_counter()
        run = sync.run_sync(
            SID,
            client=impact.ImpactClient(
                base_url=url, account_sid=SID, auth_token=TOKEN, page_size=page_size
            ),
        )
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        return time.perf_counter() - started

    with standin(count, page_size, page_ms=PAGE_MS) as url:
        bare = statistics.median(bare_download(url, page_size)[0] for _ in range(repeat))
        cold, warm = [], []
        for _ in range(repeat):
            TrackingValueRequest.objects.filter(account_sid=SID).delete()
            if connection.vendor == "postgresql":  # as autovacuum would, as in bench() above
                with connection.cursor() as cursor:
                    cursor.execute(f"VACUUM ANALYZE {TrackingValueRequest._meta.db_table}")
            cold.append(timed(url))
            warm.append(timed(url))
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    return {
        "requests": count,
        "page_ms": PAGE_MS,
        "bare_download_s": round(bare, 3),
        "sync_s": round(cold_s, 3),
        "resync_unchanged_s": round(warm_s, 3),
        "ratio_sync_to_bare": round(cold_s / bare, 2),
        "ratio_resync_to_bare": round(warm_s / bare, 2),
    }


def bench_sync(out: Any, count: int, page_size: int, repeat: int) -> list[dict[str, Any]]:
    """The table for a tenth of `count` and for `count`: growth shows what is not flat."""
    results = []
    for size in (max(1, count // 10), count):
        r = bench(size, page_size, repeat)
        results.append(r)
        out.write(
            f"{size:>7,} requests, {r['pages']} pages ({r['megabytes']} MB), median of {repeat}: "
            f"bare {r['bare_download_s']:.2f}s | cold sync {r['sync_s']:.2f}s "
            f"({r['ratio_sync_to_bare']}x, {r['requests_per_s']:,}/s) | re-sync unchanged "
            f"{r['resync_unchanged_s']:.2f}s ({r['ratio_resync_to_bare']}x) | re-sync 1% edited "
            f"{r['resync_changed_s']:.2f}s ({r['ratio_changed_to_bare']}x) | queries/page "
            f"{r['queries_per_page_sync']} / {r['queries_per_page_resync']} | peak "
            f"{r['peak_mib']} MiB | load {r['load_average'][0]}"
        )
        out.write(
            f"{'':>9}ranges: bare {r['bare_download_range_s']}, cold {r['sync_range_s']}, "
            f"unchanged {r['resync_unchanged_range_s']}, 1% {r['resync_changed_range_s']}"
        )
    if len(results) == 2:
        small, large = results
        out.write(
            f"{'':>9}growth {small['requests']:,} -> {large['requests']:,}: peak memory "
            f"{small['peak_mib']} -> {large['peak_mib']} MiB "
            f"({large['peak_mib'] / max(small['peak_mib'], 0.1):.2f}x)"
        )
    paced = bench_paced(max(1, count // 10), page_size, repeat)
    results.append(paced)
    out.write(
        f"{paced['requests']:>7,} requests from a server taking {PAGE_MS:.0f} ms a page: bare "
        f"{paced['bare_download_s']:.2f}s | cold sync {paced['sync_s']:.2f}s "
        f"({paced['ratio_sync_to_bare']}x) | re-sync unchanged "
        f"{paced['resync_unchanged_s']:.2f}s ({paced['ratio_resync_to_bare']}x)"
    )
    return results
