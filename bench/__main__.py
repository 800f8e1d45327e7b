"""`python -m bench [sync] [pages]`: benchmarks that print figures, never part of the tests.

Run by `make bench` once per database (DATABASE_URL): `sync` syncs requests over real HTTP
from a stand-in impact.com against a bare download of the same pages (bench/sync.py); `pages`
times the pages reviewers use at 10,000 and 100,000 requests against Django admin's changelist,
then over real HTTP through gunicorn (bench/pages.py, bench/server.py). Results are also
written to .bench/results-<database>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import django


def _ensure_database() -> None:
    """Create the PostgreSQL bench database on first use."""
    from django.db import OperationalError, connection

    if connection.vendor != "postgresql":
        return
    try:
        connection.ensure_connection()
    except OperationalError:
        import psycopg
        from psycopg import sql

        params = connection.get_connection_params() | {"dbname": "postgres", "autocommit": True}
        with psycopg.connect(**params) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {}").format(
                    sql.Identifier(connection.settings_dict["NAME"])
                )
            )


class _Out:
    """Lines to stdout as they come (a run takes minutes)."""

    def write(self, line: str) -> None:
        print(line, flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", default=["sync"], choices=["sync", "pages"])
    parser.add_argument(
        "--requests", type=int, default=100_000, help="sync: this many, and a tenth of it"
    )
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=40, help="pages: timed runs of each case")
    parser.add_argument(
        "--no-server", action="store_true", help="pages: skip the gunicorn run over HTTP"
    )
    options = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvr_dashboard.settings")
    # Whitenoise warns once that collectstatic has not run: the test client does not need it.
    warnings.filterwarnings("ignore", "No directory at")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from bench.pages import bench_pages
    from bench.sync import bench_sync

    results_dir = Path(settings.BASE_DIR) / ".bench"
    results_dir.mkdir(exist_ok=True)
    _ensure_database()
    call_command("migrate", verbosity=0)
    out = _Out()
    vendor = connection.vendor
    out.write(f"\n=== {vendor} ({connection.settings_dict['NAME']}) ===")
    results: dict = {"database": vendor}
    if "sync" in options.what:
        results["sync"] = bench_sync(out, options.requests, options.page_size, options.repeat)
    if "pages" in options.what:
        results["pages"] = bench_pages(out, options.runs, server=not options.no_server)
    (results_dir / f"results-{vendor}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
