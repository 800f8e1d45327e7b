"""`python -m bench.explain URL...`: the plan of every SQL query a page runs, on the bench's data.

Requests each URL twice through the test client as the bench user (the second time with the
caches warm, as most views are seen) and prints each query of that request with PostgreSQL's
`EXPLAIN ANALYZE` (or SQLite's `EXPLAIN QUERY PLAN`). `--cold` clears the cache first, to see
the queries a cache miss adds (counts, filter choices).
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.explain")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--size", type=int, default=100_000, choices=(10_000, 100_000))
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--htmx", action="store_true")
    parser.add_argument("--all", action="store_true", help="every plan, not only slow ones")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvr_dashboard.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client, override_settings

    from bench.pages import SIDS

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(username="bench-admin"))
    headers = {"HTTP_HX_REQUEST": "true"} if options.htmx else {}
    from django.conf import settings

    plain = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    queries: list[tuple[str, tuple]] = []

    def keep(run, sql, params, many, context):
        queries.append((sql, params))
        return run(sql, params, many, context)

    with override_settings(IMPACT_SANDBOX_ACCOUNT_SID=SIDS[options.size], STORAGES=plain):
        for url in options.urls:
            client.get(url, **headers)
            if options.cold:
                cache.clear()
            queries.clear()
            with connection.execute_wrapper(keep):
                status = client.get(url, **headers).status_code
            print(f"\n##### {url} ({status}, {len(queries)} queries)")
            for sql, params in queries:
                with connection.cursor() as cursor:
                    if connection.vendor == "postgresql":
                        if not sql.lstrip().upper().startswith("SELECT"):
                            print(f"\n-- {sql[:160]}")
                            continue
                        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                        plan = "\n".join(row[0] for row in cursor.fetchall())
                        took = float(plan.rsplit("Execution Time: ", 1)[1].split()[0])
                    else:
                        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
                        took = 0.0
                print(f"\n-- {took:.2f} ms: {sql[:300]}")
                if options.all or took >= 1 or connection.vendor != "postgresql":
                    print(plan)


if __name__ == "__main__":
    main(sys.argv[1:])
