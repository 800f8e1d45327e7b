"""Keyset pages: every row once in either direction, rows without a value last, and a deep page
read as an index range, not a walk from the first row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from requests_app.models import TrackingValueRequest
from requests_app.paging import cursor_for, keyset_page

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("descending", [False, True])
def test_pages_walk_dated_and_undated_rows_once_each_way(make_request, descending):
    now = timezone.now()
    for n in range(7):
        make_request(DateNeeded=(now + timedelta(days=n % 3)).isoformat())  # ties on the date
    for _ in range(4):
        make_request(DateNeeded=None)
    rows = TrackingValueRequest.objects.all()
    # NULL is the largest value on both databases: last ascending, first descending (SQLite's
    # own default is the other way round, so the order is spelled out).
    order = (
        [F("date_needed").desc(nulls_first=True), F("pk").desc()]
        if descending
        else [F("date_needed").asc(nulls_last=True), F("pk").asc()]
    )
    expected = list(rows.order_by(*order).values_list("pk", flat=True))
    undated = expected[:4] if descending else expected[-4:]
    assert all(rows.get(pk=pk).date_needed is None for pk in undated)
    seen, pages = [], [keyset_page(rows, "date_needed", descending=descending, size=3)]
    while True:
        seen += [r.pk for r in pages[-1].rows]
        if not pages[-1].next_cursor:
            break
        after = pages[-1].next_cursor
        pages.append(keyset_page(rows, "date_needed", descending=descending, after=after, size=3))
    assert seen == expected
    back = []
    page = pages[-1]
    while page.prev_cursor:
        page = keyset_page(
            rows, "date_needed", descending=descending, before=page.prev_cursor, size=3
        )
        back = [r.pk for r in page.rows] + back
    assert back + [r.pk for r in pages[-1].rows] == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plan")
def test_a_deep_page_starts_its_index_range_at_the_cursor(make_request, sandbox_sid):
    now = timezone.now()
    for n in range(60):
        make_request(DateNeeded=(now + timedelta(hours=n)).isoformat())
    rows = TrackingValueRequest.objects.for_account(sandbox_sid).live()
    middle = rows.order_by("date_needed", "pk")[30]
    queries = []

    def keep(run, sql, params, *args):
        queries.append((sql, params))
        return run(sql, params, *args)

    with connection.execute_wrapper(keep):
        page = keyset_page(
            rows, "date_needed", descending=False, after=cursor_for(middle, "date_needed"), size=20
        )

    assert len(queries) == 1 and len(page.rows) == 20  # the dated rows fill it: no NULL part
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: ask for the index
        cursor.execute(f"EXPLAIN {queries[0][0]}", queries[0][1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Where the page starts is part of the index condition, not a filter over earlier rows.
    conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any("date_needed >=" in line for line in conditions), plan
