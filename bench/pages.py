"""`python -m bench pages`: the dashboard's pages at 100,000 cached requests and audit events.

Timed through Django's test client (the whole middleware stack, no network), median and p95 of
repeated runs, with the SQL query count of each page and Django admin's changelist for the same
filter beside it. Prints figures; never a pass/fail gate.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from requests_app import impact, roles, sync
from requests_app.models import AuditEvent, TrackingValueRequest
from requests_app.paging import _encode
from requests_app.sandbox.seed import Seeder

ROWS = 100_000
EVENTS = 100_000
RUNS = 40


def _seed_requests(sid: str, out: Any) -> None:
    existing = TrackingValueRequest.objects.filter(account_sid=sid).count()
    if existing >= ROWS:
        return
    started = time.perf_counter()
    TrackingValueRequest.objects.filter(account_sid=sid).delete()
    seeder = Seeder(sid, 42, timezone.now().date())
    now = timezone.now()
    batch = []
    for n in range(ROWS):
        item = impact.TrackingValueRequest.parse(seeder.request(300_000 + n))
        batch.append(TrackingValueRequest(account_sid=sid, **sync.row_values(item, seen_at=now)))
        if len(batch) == 5000:
            with transaction.atomic():
                TrackingValueRequest.objects.bulk_create(batch)
            batch.clear()
    out.write(f"seeded {ROWS:,} cached requests in {time.perf_counter() - started:.0f}s")


def _seed_events(sid: str, out: Any) -> None:
    if AuditEvent.objects.count() >= EVENTS:
        return
    started = time.perf_counter()
    prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or ""
    now = timezone.now()
    batch = []
    for n in range(EVENTS):
        event = AuditEvent(
            created_at=now - timedelta(minutes=EVENTS - n),
            actor_name=f"reviewer{n % 7}",
            account_sid=sid,
            request_impact_id=str(300_000 + n % ROWS),
            action=("approve", "reject", "claim", "comment")[n % 4],
            outcome="success",
            sent={"UrlId": str(n)} if n % 4 == 0 else {},
            response_status=200,
            response_message="OK",
            prev_hash=prev,
        )
        event.hash = prev = event.compute_hash()
        batch.append(event)
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch.clear()
    out.write(f"seeded {EVENTS:,} audit events in {time.perf_counter() - started:.0f}s")


def _queries(client: Client, url: str, headers: dict[str, Any]) -> tuple[int, int]:
    """(SQL queries, status) of one request, counted at the driver: nothing depends on DEBUG."""
    queries = []
    with connection.execute_wrapper(lambda run, sql, *args: queries.append(sql) or run(sql, *args)):
        response = client.get(url, **headers)
    return len(queries), response.status_code


def _time(*targets: tuple[Client, str, dict[str, Any]]) -> list[tuple[float, float, int, int]]:
    """For each (client, url, headers): (median ms, p95 ms, queries, status) over RUNS runs
    after warming up. The runs of several targets alternate, so a slow spell of the machine
    falls on each of them alike and their ratio holds."""
    counted = []
    for client, url, headers in targets:
        for _ in range(3):
            client.get(url, **headers)
        counted.append(_queries(client, url, headers))
    samples: list[list[float]] = [[] for _ in targets]
    for _ in range(RUNS):
        for (client, url, headers), times in zip(targets, samples, strict=True):
            started = time.perf_counter()
            client.get(url, **headers)
            times.append((time.perf_counter() - started) * 1000)
    results = []
    for times, (queries, status) in zip(samples, counted, strict=True):
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
        results.append((statistics.median(times), p95, queries, status))
    return results


def bench_pages(out: Any) -> dict[str, Any]:
    # Measured without collectstatic: unhashed static names, as in development.
    plain = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain):
        return _bench_pages(out)


def _bench_pages(out: Any) -> dict[str, Any]:
    sid = settings.IMPACT_SANDBOX_ACCOUNT_SID
    _seed_requests(sid, out)
    _seed_events(sid, out)
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would give
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    roles.ensure_roles()
    user, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True})
    user.is_staff = user.is_superuser = False
    user.save()
    user.groups.add(Group.objects.get(name=roles.ADMIN))
    staff, _ = User.objects.get_or_create(username="bench-super")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    ours, admin = Client(HTTP_HOST="localhost"), Client(HTTP_HOST="localhost")
    ours.force_login(user)
    admin.force_login(staff)

    rows = TrackingValueRequest.objects.filter(account_sid=sid)
    sample = rows.filter(state="NEW").exclude(campaign_id=None).first()
    deep_row = rows.filter(state="NEW").order_by("date_needed", "pk")[
        max(0, rows.filter(state="NEW").count() - 60)
    ]
    deep = _encode(deep_row.date_needed, deep_row.pk)
    deep_admin_page = rows.filter(state="NEW").count() // 100 - 1
    now = quote(timezone.now().isoformat(timespec="seconds"))  # with its offset: not naive
    a = "/admin/requests_app/trackingvaluerequest/"
    cases = [
        ("list, unfiltered", "/", f"{a}?state__exact=NEW"),
        ("list, by state", "/?state=APPROVED", f"{a}?state__exact=APPROVED"),
        (
            "list, type + campaign",
            f"/?state=all&request_type=PROMOCODE_TRACKING&campaign={sample.campaign_id}",
            f"{a}?request_type__exact=PROMOCODE_TRACKING&campaign_name={sample.campaign_name}",
        ),
        ("list, text search", "/?state=all&q=trail", f"{a}?q=trail"),
        ("list, overdue", "/?queue=overdue", f"{a}?state__exact=NEW&date_needed__lt={now}"),
        ("list, deep page", f"/?after={deep}", f"{a}?state__exact=NEW&p={deep_admin_page}"),
    ]
    results = []
    out.write(
        f"\n{'page':34} {'median':>8} {'p95':>8} {'queries':>7}   {'admin median':>12} "
        f"{'admin q':>7} {'ratio':>6}"
    )

    def row(label: str, url: str, admin_url: str | None = None, **headers: Any) -> None:
        targets = [(ours, url, headers)] + ([(admin, admin_url, {})] if admin_url else [])
        (median, p95, queries, status), *theirs = _time(*targets)
        entry = {
            "page": label,
            "median_ms": round(median, 1),
            "p95_ms": round(p95, 1),
            "queries": queries,
            "status": status,
        }
        line = f"{label:34} {median:7.1f}ms {p95:7.1f}ms {queries:7d}"
        if theirs:
            a_median, _, a_queries, _ = theirs[0]
            entry.update(
                admin_median_ms=round(a_median, 1),
                admin_queries=a_queries,
                ratio=round(a_median / median, 1),
            )
            line += f"   {a_median:10.1f}ms {a_queries:7d} {a_median / median:5.1f}x"
        out.write(line)
        results.append(entry)

    for label, url, admin_url in cases:
        row(label, url, admin_url)
        row(f"{label} (htmx partial)", url, None, HTTP_HX_REQUEST="true")
    row("detail page", f"/r/{sample.impact_id}/")
    for queue in ("mine", "unassigned", "overdue", "due_soon", "open"):
        row(f"queue: {queue}", f"/?queue={queue}")
    row("audit page (100k events)", "/audit/", "/admin/requests_app/auditevent/")
    row("audit page, filtered", "/audit/?action=approve&person=reviewer3")

    tracemalloc.start()
    started = time.perf_counter()
    response = ours.get("/audit/export.csv")
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out.write(
        f"CSV export: {lines - 1:,} events in {seconds:.2f}s, peak Python memory "
        f"{peak / 2**20:.1f} MiB"
    )
    return {
        "cases": results,
        "csv": {
            "events": lines - 1,
            "seconds": round(seconds, 2),
            "peak_mib": round(peak / 2**20, 1),
        },
    }
