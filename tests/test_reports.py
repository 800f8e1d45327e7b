"""reports.py: the audit CSV (exact content, no formula injection) and the team numbers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from requests_app import audit, decisions, impact, reports, sync
from requests_app.models import AuditEvent, Decision
from tests.conftest import wire_request
from tests.fakes import FakeImpact

pytestmark = pytest.mark.django_db


def parse(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def test_the_csv_has_a_header_and_one_row_per_event_oldest_first(alice):
    audit.record(action="claim", outcome="success", actor=alice, request_impact_id="77")
    audit.record(
        action="approve",
        outcome="conflict",
        actor=alice,
        request_impact_id="77",
        sent={"PromoCode": "SAVE10", "MatchMode": "LI"},
        response_status=400,
        response_message="Validation Failed",
    )

    rows = parse(reports.audit_csv(AuditEvent.objects.all()))

    assert rows[0][:7] == ["Event", "When (UTC)", "Who", "Account", "Request", "Action", "Outcome"]
    assert [r[5] for r in rows[1:]] == ["claim", "approve"]
    approve = dict(zip(rows[0], rows[2], strict=True))
    assert approve["Sent to impact.com"] == "MatchMode=LI; PromoCode=SAVE10"
    assert approve["impact.com status"] == "400"
    assert approve["impact.com message"] == "Validation Failed"
    assert approve["Who"] == "alice"


def test_the_csv_holds_exactly_the_filtered_events(alice, bob):
    audit.record(action="claim", outcome="success", actor=alice)
    audit.record(action="claim", outcome="success", actor=bob)

    rows = parse(reports.audit_csv(AuditEvent.objects.filter(actor=bob)))

    assert [r[2] for r in rows[1:]] == ["bob"]


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(alice, hostile):
    audit.record(action="comment", outcome="success", actor=alice, response_message=hostile)

    rows = parse(reports.audit_csv(AuditEvent.objects.all()))

    cell = rows[1][9]
    assert cell == "'" + hostile
    assert not cell.startswith(reports.FORMULA_STARTS)


def test_the_csv_streams_in_chunks_instead_of_loading_every_event(
    alice, django_assert_max_num_queries
):
    for n in range(25):
        audit.record(action="claim", outcome="success", actor=alice, request_impact_id=str(n))
    lines = reports.audit_csv(AuditEvent.objects.all(), chunk_size=10)

    assert next(lines).startswith("Event,")
    assert len(list(lines)) == 25


def test_team_numbers_count_decisions_per_reviewer_with_the_median_wait(
    monkeypatch, sandbox_sid, alice, bob
):
    fake = FakeImpact()
    monkeypatch.setattr(impact, "get_client", lambda account_sid=None: fake)
    now = timezone.now()
    for user, hours, action in [(alice, 2, "reject"), (alice, 6, "reject"), (bob, 10, "reject")]:
        payload = wire_request(DatePlaced=(now - timedelta(hours=hours)).isoformat())
        fake.payloads[payload["Id"]] = payload
        row = sync.refresh_one(sandbox_sid, payload["Id"])
        getattr(decisions, action)(request=row, user=user)

    stats = reports.reviewer_stats(sandbox_sid, since=now - timedelta(days=30))

    assert [(s.name, s.approved, s.rejected) for s in stats] == [("alice", 0, 2), ("bob", 0, 1)]
    assert stats[0].median_hours == pytest.approx(4, abs=0.1)
    assert reports.median_decision_hours(sandbox_sid, since=now - timedelta(days=30)) == (
        pytest.approx(6, abs=0.1)
    )
    assert Decision.objects.count() == 3


def test_open_requests_are_bucketed_by_age(make_request, sandbox_sid):
    now = timezone.now()
    for days in [0.5, 2, 2.5, 10, 30]:
        make_request(DatePlaced=(now - timedelta(days=days)).isoformat())
    make_request(State="DECLINED", DatePlaced=(now - timedelta(days=2)).isoformat())

    assert reports.open_by_age(sandbox_sid, now=now) == [
        ("under 1 day", 1),
        ("1–3 days", 2),
        ("3–7 days", 0),
        ("1–2 weeks", 1),
        ("over 2 weeks", 1),
    ]


def test_bars_scale_to_the_largest_value_and_fill_the_width():
    chart = reports.bars([("a", 5), ("b", 10), ("c", 0)], width=300, height=100, gap=0)

    assert [(b.x, b.width, b.height, b.y) for b in chart] == [
        (0, 100, 50, 50),
        (100, 100, 100, 0),
        (200, 100, 0, 100),
    ]
    assert reports.bars([]) == []
