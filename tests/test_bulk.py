"""bulk.py, the sync's bulk writer: every field of the model stored exactly as the ORM stores
it, on SQLite and PostgreSQL, and unchanged rows never written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from requests_app import bulk, impact, sync
from requests_app.models import TrackingValueRequest
from tests.conftest import wire_request

pytestmark = pytest.mark.django_db

# Fields a sync never writes: the primary key and the review state that is ours.
OURS = {"id", "assigned_to", "assigned_at"}
EDT = timezone(timedelta(hours=-4))


def every_column(impact_id: str) -> dict:
    """A value for every column the writer takes, at the edges of each field's type."""
    placed = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=EDT)
    payload = {"Id": "99", "Nested": {"ü": ["émoji 🎟", 1.5, None, True]}, "N": "12"}
    return {
        "account_sid": "IRBulk",
        "impact_id": impact_id,
        "campaign_id": 2**63 - 1,
        "campaign_name": "Café <b>&amp;</b> “quotes”",
        "media_partner_id": -(2**63 - 1),
        "media_partner_name": "x" * 255,
        "request_type": "PROMOCODE_TRACKING",
        "state": "NEW",
        "number_requested": 2**31 - 1,
        "date_placed": placed,
        "date_needed": placed.astimezone(UTC) + timedelta(days=3),
        "date_completed": None,
        "deal_id": None,
        "deal_name": "",
        "deal_type": "BOGO",
        "deal_state": "ACTIVE",
        "requested_value": "TRAIL-\\d+",
        "approved_value": "",
        "additional_instructions": "line one\nline two\ttab",
        "search_text": "café │ trail",
        "payload": payload,
        "payload_hash": "f" * 64,
        "first_seen_at": placed,
        "last_seen_at": placed,
        "fetched_at": placed,
        "is_gone": True,
        "sla_due_at": placed + timedelta(hours=5),
    }


def test_every_field_of_the_model_is_either_written_by_the_sync_or_ours():
    # get_fields() is _meta's documented API; concrete fields are the table's columns.
    stored = TrackingValueRequest._meta.get_fields()
    fields = {f.name for f in stored if getattr(f, "concrete", False)}
    assert fields == set(bulk.COLUMNS) | OURS


def test_the_bulk_path_stores_every_field_as_the_orm_does():
    by_orm = every_column("1")
    TrackingValueRequest.objects.create(**by_orm)
    by_bulk = every_column("2")
    text = impact.canonical_json(by_bulk["payload"])

    bulk.upsert([by_bulk], payload_text=[text])

    orm, written = (
        TrackingValueRequest.objects.filter(impact_id=i).values(*bulk.COLUMNS).get()
        for i in ("1", "2")
    )
    assert {**written, "impact_id": "1"} == {**orm, "impact_id": "1"}
    assert written["payload"] == by_bulk["payload"]  # the JSON text is the same document


def test_values_many_rows_share_are_converted_per_value_not_mixed_up():
    first = every_column("5")
    rows = [
        first,
        first | {"impact_id": "6", "state": "APPROVED", "number_requested": 1, "is_gone": False},
        first | {"impact_id": "7", "campaign_id": None, "deal_id": 1, "number_requested": 0},
    ]

    bulk.upsert(rows, payload_text=[impact.canonical_json(r["payload"]) for r in rows])

    stored = {
        r["impact_id"]: r
        for r in TrackingValueRequest.objects.filter(impact_id__in="567").values(*bulk.COLUMNS)
    }
    for row in rows:
        assert {k: v for k, v in stored[row["impact_id"]].items() if k != "payload"} == {
            k: v for k, v in row.items() if k != "payload"
        }


def test_a_value_of_the_wrong_type_is_refused_not_written_unconverted():
    row = every_column("3") | {"campaign_id": "not a number"}

    with pytest.raises((TypeError, ValueError)):
        bulk.upsert([row], payload_text=[json.dumps(row["payload"])])

    assert not TrackingValueRequest.objects.filter(impact_id="3").exists()


def test_an_upsert_never_overwrites_a_row_impact_com_answered_for_later():
    newer = every_column("4") | {"state": "APPROVED"}
    bulk.upsert([newer], payload_text=["{}"])
    older = every_column("4") | {"fetched_at": newer["fetched_at"] - timedelta(seconds=1)}

    bulk.upsert([older], payload_text=["{}"])

    assert TrackingValueRequest.objects.get(impact_id="4").state == "APPROVED"


def test_a_re_sync_with_nothing_changed_writes_no_row(sandbox_sid, django_assert_num_queries):
    items = [impact.TrackingValueRequest.parse(wire_request()) for _ in range(50)]
    sync.store(sandbox_sid, items, fetched_at=datetime.now(UTC))

    with django_assert_num_queries(1) as queries:  # one read, and nothing to write
        counts = sync.store(sandbox_sid, items, fetched_at=datetime.now(UTC))

    assert (counts.unchanged, counts.created, counts.updated) == (50, 0, 0)
    assert not any("INSERT" in q["sql"] or "UPDATE" in q["sql"] for q in queries.captured_queries)


def test_seen_ids_are_kept_in_the_database_and_name_what_a_walk_did_not_see(sandbox_sid):
    items = [impact.TrackingValueRequest.parse(wire_request()) for _ in range(4)]
    sync.store(sandbox_sid, items, fetched_at=datetime.now(UTC))

    with bulk.SeenIds() as seen:
        seen.add([items[0].id, items[1].id])
        seen.add([items[1].id, items[2].id])  # seen twice counts once

        assert seen.count() == 3
        assert list(seen.unseen(sandbox_sid).values_list("impact_id", flat=True)) == [items[3].id]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_gone_probes_the_seen_ids_by_key_when_the_accounts_statistics_are_stale(sandbox_sid):
    # A new account's first full sync: the statistics were taken before it had a row, so the
    # planner believes it has none. The unkeyed table was then joined by a nested loop that
    # re-read the account once per row (42 s at 10,000 requests).
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TrackingValueRequest._meta.db_table}")
    # Enough rows that reading the seen ids whole once per row costs more than a key probe.
    items = [impact.TrackingValueRequest.parse(wire_request()) for _ in range(1000)]
    sync.store(sandbox_sid, items, fetched_at=datetime.now(UTC))

    with bulk.SeenIds() as seen:
        seen.add([item.id for item in items[:-1]])
        plan = seen.unseen(sandbox_sid).explain()
        gone = list(seen.unseen(sandbox_sid).values_list("impact_id", flat=True))

    assert gone == [items[-1].id]
    assert "SubPlan" not in plan
    assert "tvr_sync_seen_id" in plan or "Hash Anti Join" in plan
