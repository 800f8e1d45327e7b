"""Deadlines (sla.py): business hours, per-campaign targets, stamped by the sync and re-stamped
when a target changes; the list's time to breach and sort; the Team page's attainment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from requests_app import impact, sla, sync
from requests_app.models import AuditEvent, SlaTarget, TrackingValueRequest
from tests.conftest import in_account, wire_request

pytestmark = pytest.mark.django_db

FRIDAY_4PM = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (FRIDAY_4PM, 1, datetime(2026, 12, 4, 17, 0, tzinfo=UTC)),
        (FRIDAY_4PM, 3, datetime(2026, 12, 7, 11, 0, tzinfo=UTC)),  # over the weekend
        (datetime(2026, 12, 5, 12, 0, tzinfo=UTC), 2, datetime(2026, 12, 7, 11, 0, tzinfo=UTC)),
        (datetime(2026, 12, 7, 6, 0, tzinfo=UTC), 8, datetime(2026, 12, 7, 17, 0, tzinfo=UTC)),
        (datetime(2026, 12, 7, 20, 0, tzinfo=UTC), 9, datetime(2026, 12, 9, 10, 0, tzinfo=UTC)),
    ],
)
def test_business_hours_skip_nights_and_weekends(start, hours, due):
    assert sla.add_business_hours(start, hours) == due


def test_the_deadline_is_the_earlier_of_the_target_and_the_date_needed():
    targets = sla.Targets(by_campaign={1000: 3}, default=40)
    needed = FRIDAY_4PM + timedelta(days=30)

    assert targets.due(1000, FRIDAY_4PM, needed) == datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    assert targets.due(2000, FRIDAY_4PM, needed) == sla.add_business_hours(FRIDAY_4PM, 40)
    assert targets.due(1000, FRIDAY_4PM, FRIDAY_4PM + timedelta(minutes=5)) == FRIDAY_4PM + (
        timedelta(minutes=5)
    )
    assert sla.Targets(by_campaign={}, default=None).due(1000, FRIDAY_4PM, needed) == needed


def test_the_sync_stamps_each_request_with_its_deadline(sandbox_sid):
    SlaTarget.objects.create(account_sid=sandbox_sid, campaign_id=1000, hours=3)
    payload = wire_request(DatePlaced=FRIDAY_4PM.isoformat())

    sync.store(
        sandbox_sid, [sync.impact.TrackingValueRequest.parse(payload)], fetched_at=timezone.now()
    )

    row = TrackingValueRequest.objects.get(impact_id=payload["Id"])
    assert row.sla_due_at == datetime(2026, 12, 7, 11, 0, tzinfo=UTC)


def test_changing_a_target_restamps_the_open_requests_and_is_audited(
    make_request, admin, sandbox_sid, django_capture_on_commit_callbacks
):
    row = make_request(DatePlaced=FRIDAY_4PM.isoformat())
    decided = make_request(
        DatePlaced=FRIDAY_4PM.isoformat(), State="APPROVED", DateCompleted=FRIDAY_4PM.isoformat()
    )
    assert row.sla_due_at == row.date_needed

    with django_capture_on_commit_callbacks(execute=True):
        sla.set_target(sandbox_sid, None, 1, by=admin)

    row.refresh_from_db()
    assert row.sla_due_at == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    # A decided request keeps the deadline it was decided against: past attainment stays.
    assert TrackingValueRequest.objects.get(pk=decided.pk).sla_due_at == decided.sla_due_at
    event = AuditEvent.objects.get(action="sla_target")
    assert (event.actor_name, event.detail) == ("ada", {"campaign": None, "hours": 1})
    with django_capture_on_commit_callbacks(execute=True):
        sla.set_target(sandbox_sid, None, None, by=admin)
    row.refresh_from_db()
    assert row.sla_due_at == row.date_needed


def test_a_decided_request_synced_again_keeps_the_deadline_it_was_decided_against(
    make_request, sandbox_sid
):
    row = make_request(DatePlaced=FRIDAY_4PM.isoformat())
    SlaTarget.objects.create(account_sid=sandbox_sid, hours=1)  # set after it was decided
    payload = row.payload | {"State": "DECLINED", "DateCompleted": FRIDAY_4PM.isoformat()}

    sync.store(sandbox_sid, [impact.TrackingValueRequest.parse(payload)], fetched_at=timezone.now())

    assert TrackingValueRequest.objects.get(pk=row.pk).sla_due_at == row.sla_due_at


def test_a_long_target_skips_whole_weeks_and_lands_where_walking_would():
    start = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)  # a Monday

    # 2,000 hours of 8-hour, 5-day weeks: 50 weeks, then 0 hours into the next day.
    assert sla.add_business_hours(start, 2000) == datetime(2027, 2, 15, 10, 30, tzinfo=UTC)
    assert sla.add_business_hours(start, 41) == datetime(2026, 3, 9, 11, 30, tzinfo=UTC)


def test_the_list_shows_time_to_breach_and_sorts_by_it(as_alice, make_request, sandbox_sid):
    now = timezone.now()
    later = make_request(DateNeeded=(now + timedelta(days=9)).isoformat())
    breached = make_request(DateNeeded=(now - timedelta(hours=3)).isoformat())
    soon = make_request(DateNeeded=(now + timedelta(hours=2)).isoformat())

    page = as_alice.get(in_account("/?sort=breach")).content.decode()

    order = [page.index(f">{r.impact_id}</a>") for r in (breached, soon, later)]
    assert order == sorted(order)
    assert 'class="breach is-breached">breached 3 h' in page
    assert 'class="breach is-soon">1 h 59 m left' in page or 'is-soon">2 h 0 m left' in page


def test_an_admin_sets_a_target_on_the_deadlines_page(
    client, admin, make_request, sandbox_sid, django_capture_on_commit_callbacks
):
    row = make_request(DatePlaced=FRIDAY_4PM.isoformat())
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            in_account("/deadlines/"), {"campaign": "1000", "hours": "3"}, follow=True
        )

    assert "Target set to 3 business hours" in response.content.decode()
    row.refresh_from_db()
    assert row.sla_due_at == datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    assert SlaTarget.objects.get(account_sid=sandbox_sid).campaign_id == 1000


@pytest.mark.parametrize("hours", ["0", "-3", "1e9", "2001", "x" * 10_000, "3.5"])
def test_a_target_that_cannot_be_is_refused_with_a_message(client, admin, sandbox_sid, hours):
    client.force_login(admin)

    response = client.post(in_account("/deadlines/"), {"campaign": "", "hours": hours})

    assert response.status_code == 400
    assert not SlaTarget.objects.exists()


def test_reviewers_read_the_deadlines_but_cannot_set_them(as_alice, sandbox_sid):
    assert as_alice.get(in_account("/deadlines/")).status_code == 200
    assert as_alice.post(in_account("/deadlines/"), {"hours": "5"}).status_code == 403
    assert not SlaTarget.objects.exists()


def test_the_team_page_shows_attainment_per_week_and_per_reviewer(
    client, admin, alice, fake, sandbox_sid
):
    from requests_app import decisions

    now = timezone.now()
    for needed, n in ((now + timedelta(days=2), 2), (now - timedelta(days=1), 1)):
        for _ in range(n):
            payload = wire_request(DateNeeded=needed.isoformat())
            fake.payloads[payload["Id"]] = payload
            row = sync.refresh_one(sandbox_sid, payload["Id"])
            decisions.reject(request=row, user=alice)
    client.force_login(admin)

    page = client.get(in_account("/team/")).content.decode()

    assert "Decided by the deadline, per week" in page
    assert (
        '<td>alice</td><td class="num">2</td><td class="num">3</td><td class="num">67 %</td>'
        in page
    )


def test_weekly_attainment_counts_requests_decided_by_their_deadline(make_request):
    now = timezone.now()
    done = now - timedelta(minutes=1)
    for needed in (now + timedelta(days=1), now + timedelta(days=2), now - timedelta(days=1)):
        make_request(
            State="APPROVED", DateCompleted=done.isoformat(), DateNeeded=needed.isoformat()
        )
    make_request(State="NEW")  # not decided: not counted

    weeks = sla.weekly(make_request().account_sid)

    assert len(weeks) == 8
    assert (weeks[-1].in_time, weeks[-1].total, weeks[-1].percent) == (2, 3, 67)
    assert sum(w.total for w in weeks[:-1]) == 0
