"""`python -m bench pages`: the pages reviewers use, at 10,000 and at 100,000 cached requests.

Two accounts in one table, one per size (the product's indexes all start with the account), so
both sizes stay seeded between runs. Each case is timed through Django's test client (the
whole middleware stack, no network): p50/p95/p99 of repeated runs, the SQL queries of one
request, and Django admin's changelist for the same model and filter beside it (the ratio is
admin's median over ours). Then the growth from 10,000 to 100,000, and the same pages over real
HTTP (bench/server.py: gunicorn, 2 sync workers, DJANGO_DEBUG=false, a closed-loop client that
checks every answer). Prints figures; never a pass/fail gate.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count, F
from django.test import Client, override_settings
from django.utils import timezone

from requests_app import impact, paging, roles, sync
from requests_app.models import Account, AuditEvent, Rule, SyncRun, TrackingValueRequest
from requests_app.sandbox.seed import Seeder

SIZES = (10_000, 100_000)
SIDS = {10_000: "IRBench000000000000000000010k", 100_000: "IRBench00000000000000000100k"}
RUNS = 40
ADMIN_RUNS = 3
TYPE = "PROMOCODE_TRACKING"
ADMIN = "/admin/requests_app/trackingvaluerequest/"
ADMIN_AUDIT = "/admin/requests_app/auditevent/"


def _seed_requests(sid: str, size: int, holder: User, out: Any) -> None:
    rows = TrackingValueRequest.objects.filter(account_sid=sid)
    if rows.count() == size:
        return
    started = time.perf_counter()
    rows.delete()
    seeder = Seeder(sid, 42, timezone.now().date())
    now = timezone.now()
    batch = []
    for n in range(size):
        item = impact.TrackingValueRequest.parse(seeder.request(300_000 + n))
        batch.append(TrackingValueRequest(account_sid=sid, **sync.row_values(item, seen_at=now)))
        if len(batch) == 5000 or n == size - 1:
            with transaction.atomic():
                TrackingValueRequest.objects.bulk_create(batch)
            batch.clear()
    # One open request in twenty is the bench user's ("My queue").
    rows.alias(m=F("pk") % 20).filter(m=0, state="NEW").update(assigned_to=holder)
    Account.changed(sid, rows=True)
    out.write(f"seeded {size:,} cached requests in {time.perf_counter() - started:.0f}s")


def _seed_events(sid: str, size: int, out: Any) -> None:
    existing = AuditEvent.objects.filter(account_sid=sid).count()
    if existing >= size:
        return
    started = time.perf_counter()
    prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or ""
    now = timezone.now()
    batch = []
    for n in range(existing, size):
        event = AuditEvent(
            created_at=now - timedelta(minutes=size - n),
            actor_name=f"reviewer{n % 7}",
            account_sid=sid,
            request_impact_id=str(300_000 + n % size),
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
    AuditEvent.objects.bulk_create(batch)
    out.write(f"seeded {size - existing:,} audit events in {time.perf_counter() - started:.0f}s")


def _not_due(sid: str) -> None:
    """No background sync starts while the bench looks (it would show the progress bar)."""
    later = timezone.now() + timedelta(days=1)
    Account.objects.filter(sid=sid).update(last_synced_at=later, last_full_sync_at=later)
    SyncRun.objects.filter(account_sid=sid, status=SyncRun.Status.RUNNING).delete()


def _most_common_open(rows: Any, column: str) -> Any:
    found = (
        rows.filter(state="NEW", **{f"{column}__isnull": False})
        .values(column)
        .annotate(n=Count("pk"))
        .order_by("-n", column)
        .first()
    )
    return found[column]


def cases(sid: str) -> list[tuple[str, str, str | None]]:
    """(label, our URL, admin's URL for the same filter or None) for one account."""
    rows = TrackingValueRequest.objects.filter(account_sid=sid)
    campaign = _most_common_open(rows, "campaign_id")
    partner = _most_common_open(rows, "media_partner_id")
    deal = _most_common_open(rows, "deal_id")
    sample = rows.filter(state="NEW", campaign_id=campaign).order_by("pk").first()
    opened = rows.filter(state="NEW", is_gone=False).order_by("date_needed", "pk")
    deep_open = paging.cursor_for(opened[max(0, opened.count() - 60)], "date_needed")
    everything = rows.filter(is_gone=False).order_by("date_needed", "pk")
    deep_all = paging.cursor_for(everything[everything.count() // 2], "date_needed")
    now = timezone.now().isoformat(timespec="seconds")  # with its offset: not naive

    def admin(**lookups: Any) -> str:
        return f"{ADMIN}?{urlencode({'account_sid': sid, 'is_gone__exact': 0, **lookups})}"

    filters = {
        "type": ({"request_type": TYPE}, {"request_type__exact": TYPE}),
        "campaign": ({"campaign": campaign}, {"campaign_id": campaign}),
        "partner": ({"partner": partner}, {"media_partner_id": partner}),
        "deal": ({"deal": deal}, {"deal_id": deal}),
        "type + campaign": (
            {"request_type": TYPE, "campaign": campaign},
            {"request_type__exact": TYPE, "campaign_id": campaign},
        ),
    }
    found: list[tuple[str, str, str | None]] = [
        ("open", "/", admin(state__exact="NEW")),
    ]
    for tab, state in (("open", "NEW"), ("all", "all")):
        for name, (ours, theirs) in filters.items():
            state_lookup = {"state__exact": state} if state != "all" else {}
            found.append(
                (
                    f"{tab} + {name}",
                    f"/?{urlencode({'state': state, **ours})}",
                    admin(**state_lookup, **theirs),
                )
            )
    queues = {
        "mine": {"assigned_to": "BENCH_USER"},
        "unassigned": {"assigned_to__isnull": "True"},
        "overdue": {"date_needed__lt": now},
        "due_soon": {
            "date_needed__gte": now,
            "date_needed__lte": (
                timezone.now() + timedelta(days=settings.TVR_DUE_SOON_DAYS)
            ).isoformat(timespec="seconds"),
        },
        "open": {},
    }
    for queue, lookups in queues.items():
        found.append(
            (
                f"queue {queue} + type",
                f"/?{urlencode({'queue': queue, 'request_type': TYPE})}",
                admin(state__exact="NEW", request_type__exact=TYPE, **lookups),
            )
        )
    found += [
        ("open, by time to breach", "/?sort=breach", None),
        ("search, common word", "/?state=all&q=trail", admin(q="trail")),
        (
            "search, rare (one id)",
            f"/?state=all&q={sample.impact_id}",
            admin(q=sample.impact_id),
        ),
        (
            "deep page, open",
            f"/?after={deep_open}",
            admin(state__exact="NEW", p=opened.count() // 100 - 1),
        ),
        (
            "deep page, all (middle)",
            f"/?state=all&after={deep_all}",
            admin(p=everything.count() // 200),
        ),
        ("detail", f"/r/{sample.impact_id}/", None),
        ("rule dry run, one partner", f"/rules/{_rule(sid, 'one partner', [partner]).pk}/", None),
        ("rule dry run, every code", f"/rules/{_rule(sid, 'every promo code', []).pk}/", None),
        ("audit", "/audit/", f"{ADMIN_AUDIT}?account_sid={quote(sid)}"),
        (
            "audit, filtered",
            "/audit/?action=approve&person=reviewer3",
            f"{ADMIN_AUDIT}?account_sid={quote(sid)}&action__exact=approve&q=reviewer3",
        ),
    ]
    return found


def _rule(sid: str, name: str, partners: list[int]) -> Rule:
    """An approving rule for promo codes (of these partners, or everyone's): its page reads
    the account's whole history and plans over every open request it matches."""
    rule, _ = Rule.objects.get_or_create(
        account_sid=sid,
        name=f"Bench: {name}",
        defaults={
            "request_type": TYPE,
            "partner_ids": partners,
            "action": Rule.Action.APPROVE,
            "mode": Rule.Mode.DECIDE,
            "code_source": Rule.CodeSource.REQUESTED,
            "credit_policy": "INVOLVED",
            "match_mode": "LI",
        },
    )
    return rule


def _queries(client: Client, url: str, headers: dict[str, Any]) -> tuple[int, int, str]:
    """(SQL queries, status, body) of one request, counted at the driver (not via DEBUG)."""
    queries = []
    with connection.execute_wrapper(lambda run, sql, *args: queries.append(sql) or run(sql, *args)):
        response = client.get(url, **headers)
    return len(queries), response.status_code, response.content.decode()


def percentile(times: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted times."""
    return times[min(len(times) - 1, max(0, round(share * len(times)) - 1))]


Target = tuple[Client, str, dict[str, Any], str]  # client, url, headers, account sid


def _get(target: Target) -> Any:
    client, url, headers, sid = target
    with override_settings(IMPACT_SANDBOX_ACCOUNT_SID=sid):
        return client.get(url, **headers)


def _time(targets: list[Target], runs: int) -> list[dict[str, Any]]:
    """For each target: p50/p95/p99 ms over `runs` runs after warming up, the queries and
    status of one request. The targets' runs alternate (both sizes of a case, full page and
    htmx), so a slow spell of the machine falls on each of them alike and their ratios hold."""
    counted = []
    for target in targets:
        for _ in range(1 if runs < 10 else 2):
            _get(target)
        with override_settings(IMPACT_SANDBOX_ACCOUNT_SID=target[3]):
            counted.append(_queries(*target[:3]))
    samples: list[list[float]] = [[] for _ in targets]
    for _ in range(runs):
        for (client, url, headers, sid), times in zip(targets, samples, strict=True):
            with override_settings(IMPACT_SANDBOX_ACCOUNT_SID=sid):
                started = time.perf_counter()
                client.get(url, **headers)
                times.append((time.perf_counter() - started) * 1000)
    results = []
    for times, (queries, status, body) in zip(samples, counted, strict=True):
        times.sort()
        results.append(
            {
                "p50": percentile(times, 0.50),
                "p95": percentile(times, 0.95),
                "p99": percentile(times, 0.99),
                "queries": queries,
                "status": status,
                "body": body,
            }
        )
    return results


def fingerprint(body: str) -> str:
    """What tells one page from another: its first row (or, without rows, its heading)."""
    row = re.search(r'data-id="([^"]+)"', body)
    if row:
        return row.group(0)
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    return heading.group(0) if heading else "<title>"


def bench_pages(out: Any, runs: int = RUNS, server: bool = True) -> dict[str, Any]:
    # Measured without collectstatic: unhashed static names, as in development.
    plain = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    roles.ensure_roles()
    user, _ = User.objects.get_or_create(username="bench-admin")
    user.is_staff = user.is_superuser = False
    user.save()
    for sid in SIDS.values():  # an admin of both accounts (roles are per account)
        roles.grant(user, sid, roles.ADMIN)
    staff, _ = User.objects.get_or_create(username="bench-super")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    for size in SIZES:
        _seed_requests(SIDS[size], size, user, out)
        _seed_events(SIDS[size], size, out)
        _not_due(SIDS[size])
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would give
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    with override_settings(STORAGES=plain):
        results: dict[str, Any] = {"sizes": _bench_sizes(out, user, staff, runs)}
    _growth(out, results["sizes"])
    if server:
        from bench.server import bench_server

        results["server"] = bench_server(out, {s: SIDS[s] for s in SIZES}, results["sizes"])
    return results


def _bench_sizes(out: Any, user: User, staff: User, runs: int) -> dict[int, Any]:
    ours, admin = Client(HTTP_HOST="localhost"), Client(HTTP_HOST="localhost")
    ours.force_login(user)
    admin.force_login(staff)
    found = {}
    for size in SIZES:
        with override_settings(IMPACT_SANDBOX_ACCOUNT_SID=SIDS[size]):
            found[size] = [
                (label, url, theirs.replace("BENCH_USER", str(user.pk)) if theirs else None)
                for label, url, theirs in cases(SIDS[size])
            ]
    out.write(
        f"\n--- pages at 10,000 and 100,000 cached requests and audit events ({connection.vendor})"
        f" ---\n{'case':26} {'size':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'q':>3} │ "
        f"{'htmx p50':>8} {'p95':>7} {'q':>3} │ {'admin p50':>9} {'q':>3} {'ratio':>6}"
    )
    entries: dict[int, list] = {size: [] for size in SIZES}
    statuses: Counter = Counter()
    for n, (label, *_) in enumerate(found[SIZES[0]]):
        urls = {size: found[size][n][1:] for size in SIZES}
        htmx = urls[SIZES[0]][0].startswith("/?") or urls[SIZES[0]][0] == "/"
        targets: list[Target] = []
        for size in SIZES:
            targets.append((ours, urls[size][0], {}, SIDS[size]))
            if htmx:
                targets.append((ours, urls[size][0], {"HTTP_HX_REQUEST": "true"}, SIDS[size]))
        measured = iter(_time(targets, runs))
        for size in SIZES:
            url, admin_url = urls[size]
            page = next(measured)
            entry = {
                "case": label,
                "url": url,
                "fingerprint": fingerprint(page["body"]),
                **{
                    k: round(v, 1) if isinstance(v, float) else v
                    for k, v in page.items()
                    if k != "body"
                },
            }
            statuses[page["status"]] += 1
            line = (
                f"{label if size == SIZES[0] else '':26} {size // 1000:3d}k {page['p50']:6.1f}  "
                f"{page['p95']:6.1f}  {page['p99']:6.1f}  {page['queries']:3d}"
            )
            if htmx:
                part = next(measured)
                entry["htmx"] = {k: round(part[k], 1) for k in ("p50", "p95", "p99")} | {
                    "queries": part["queries"]
                }
                line += f" │ {part['p50']:7.1f}  {part['p95']:6.1f}  {part['queries']:3d}"
            else:
                line += f" │ {'':8} {'':7} {'':3}"
            if admin_url:  # 10-100x slower than ours: a few runs tell the ratio
                (theirs,) = _time([(admin, admin_url, {}, SIDS[size])], ADMIN_RUNS)
                entry["admin"] = {"p50": round(theirs["p50"], 1), "queries": theirs["queries"]}
                entry["ratio"] = round(theirs["p50"] / page["p50"], 1)
                line += f" │ {theirs['p50']:8.1f}  {theirs['queries']:3d} {entry['ratio']:5.1f}x"
            if page["status"] != 200:
                line += f"  (status {page['status']})"
            out.write(line)
            entries[size].append(entry)
    results = {}
    for size in SIZES:
        worst = max(entries[size], key=lambda e: e["p95"])
        out.write(
            f"{size:,}: worst p95 {worst['p95']} ms ({worst['case']}); most queries "
            f"{max(e['queries'] for e in entries[size])}"
        )
        results[size] = {"cases": entries[size], "csv": None}
    out.write(f"statuses {dict(statuses)}")
    with override_settings(IMPACT_SANDBOX_ACCOUNT_SID=SIDS[SIZES[-1]]):
        csv = results[SIZES[-1]]["csv"] = _csv(ours)
    out.write(
        f"CSV export: {csv['events']:,} events in {csv['seconds']:.2f}s, "
        f"peak Python memory {csv['peak_mib']:.1f} MiB"
    )
    return results


def _csv(client: Client) -> dict[str, Any]:
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/audit/export.csv")
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"events": lines - 1, "seconds": round(seconds, 2), "peak_mib": round(peak / 2**20, 1)}


def _growth(out: Any, sizes: dict[int, Any]) -> None:
    small, large = (sizes[s]["cases"] for s in SIZES)
    out.write(
        f"\n--- growth {SIZES[0]:,} -> {SIZES[1]:,} ({connection.vendor}) ---\n"
        f"{'case':26} {'p50':>13} {'x':>5} {'p95':>13} {'x':>5}"
    )
    for a, b in zip(small, large, strict=True):
        out.write(
            f"{a['case']:26} {a['p50']:5.1f}→{b['p50']:6.1f} {b['p50'] / a['p50']:4.2f}x "
            f"{a['p95']:5.1f}→{b['p95']:6.1f} {b['p95'] / a['p95']:4.2f}x"
        )
