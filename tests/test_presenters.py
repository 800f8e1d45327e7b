"""What a list row and an audit row show, computed from a request or an event at a given time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from requests_app.presenters import audit_row, due_words, local_day, request_row

NOW = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)
SOON = timedelta(days=2)
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30: 18:30 UTC is already the 26th there


def cached(**overrides):
    """A cached request with the list's columns, as the list's query returns it."""
    fields = {
        "impact_id": "500001",
        "media_partner_name": "Trail Deals Weekly",
        "campaign_name": "Acme Outdoor US",
        "request_type": "PROMOCODE_TRACKING",
        "number_requested": 1,
        "deal_name": "Spring Sale",
        "state": "NEW",
        "is_gone": False,
        "date_placed": NOW - timedelta(days=2),
        "date_needed": NOW + timedelta(days=5),
        "sla_due_at": NOW + timedelta(days=5),
        "assigned_to__username": None,
        "live_action": None,
        "live_status": None,
    }
    return SimpleNamespace(**(fields | overrides))


def row(zone=UTC, **overrides):
    return request_row(cached(**overrides), now=NOW, zone=zone, soon=SOON)


def test_an_open_request_needed_later_is_selectable_and_unmarked():
    shown = row()
    assert (shown.mark, shown.due, shown.selectable) == ("", "in 5 days", True)
    assert (shown.row_class, shown.due_class) == ("row", "due")
    assert (shown.type_label, shown.type_class) == ("Promo code", "type type-promocode_tracking")
    assert (shown.state_label, shown.state_class) == ("New", "state state-new")
    assert shown.placed_iso == "2026-11-23T18:30:00+00:00" and shown.placed_day == "Nov 23"
    assert (shown.number, shown.deal, shown.deal_text) == ("1", "Spring Sale", "Spring Sale")


@pytest.mark.parametrize(
    ("needed", "mark", "due", "classes"),
    [
        (NOW - timedelta(days=2), "overdue", "2 days overdue", ("row overdue", "due is-overdue")),
        (NOW - timedelta(minutes=1), "overdue", "due today", ("row overdue", "due is-overdue")),
        (NOW + timedelta(hours=20), "due-soon", "in 1 day", ("row due-soon", "due is-soon")),
        (NOW + SOON, "due-soon", "in 2 days", ("row due-soon", "due is-soon")),
        (NOW + SOON + timedelta(minutes=1), "", "in 2 days", ("row", "due")),
    ],
)
def test_open_requests_are_marked_by_how_soon_they_are_needed(needed, mark, due, classes):
    shown = row(date_needed=needed)
    assert (shown.mark, shown.due, (shown.row_class, shown.due_class)) == (mark, due, classes)


@pytest.mark.parametrize("changes", [{"state": "APPROVED"}, {"is_gone": True}])
def test_a_decided_or_gone_request_is_neither_marked_nor_selectable(changes):
    shown = row(date_needed=NOW - timedelta(days=3), **changes)
    assert (shown.mark, shown.due, shown.selectable) == ("", "", False)


def test_without_dates_a_row_shows_empty_times_and_no_due_words():
    shown = row(date_needed=None, date_placed=None, number_requested=None, deal_name="")
    assert (shown.placed_iso, shown.placed_day, shown.needed_iso, shown.needed_day) == ("",) * 4
    assert (shown.due, shown.mark, shown.number, shown.deal_text) == ("", "", "", "—")


def test_days_and_times_are_the_viewers():
    shown = row(zone=KOLKATA, date_placed=NOW, date_needed=NOW + timedelta(days=1))
    assert shown.placed_day == "Nov 26" and shown.placed_iso.endswith("+05:30")
    assert shown.due == "in 1 day"
    assert local_day(datetime(2026, 1, 5, tzinfo=UTC), UTC) == "Jan 5"


def test_the_holder_is_named_and_unknown_codes_are_shown_as_they_are():
    shown = row(assigned_to__username="alice", request_type="NEW_KIND", state="ODD")
    assert shown.holder == "alice"
    assert (shown.type_label, shown.state_label) == ("NEW_KIND", "ODD")


@pytest.mark.parametrize(
    ("days", "state", "words"),
    [
        (0, "NEW", "due today"),
        (0, "APPROVED", "today"),
        (1, "NEW", "in 1 day"),
        (-1, "NEW", "1 day overdue"),
        (-3, "DECLINED", "3 days ago"),
    ],
)
def test_due_words(days, state, words):
    today = date(2026, 11, 25)
    when = datetime(2026, 11, 25, 12, tzinfo=UTC) + timedelta(days=days)
    assert due_words(when, state, today, UTC) == words


def event(**overrides):
    fields = {
        "created_at": NOW,
        "actor_name": "alice",
        "action": "approve",
        "outcome": "failure",
        "request_impact_id": "500001",
        "sent": {"UrlId": 5, "DealId": None},
        "response_status": 400,
        "response_message": "Not open",
    }
    return SimpleNamespace(**(fields | overrides))


def test_an_audit_row_shows_what_was_sent_and_what_impact_com_answered():
    shown = audit_row(event(), zone=UTC)
    assert shown.when_text == "2026-11-25 18:30:00" and shown.when_iso.startswith("2026-11-25T18")
    assert (shown.who, shown.outcome, shown.outcome_label) == ("alice", "failure", "Failed")
    assert shown.sent == [("DealId", ""), ("UrlId", "5")]
    assert shown.answer == "400 Not open"


def test_an_audit_row_of_the_system_with_a_long_answer_is_cut():
    shown = audit_row(
        event(actor_name="", sent=[], response_status=None, response_message="x" * 300),
        zone=KOLKATA,
    )
    assert shown.who == "system" and shown.sent == []
    assert len(shown.answer) == 120 and shown.answer.endswith("…")
    assert shown.when_text == "2026-11-26 00:00:00"


@pytest.mark.parametrize(
    ("action", "status", "words", "final"),
    [
        ("approve_queued", "sent", "queued an approval", "then approved in impact.com"),
        ("reject_queued", "undone", "queued a rejection", "then undone, nothing sent"),
        ("approve_queued", "queued", "queued an approval", "still queued"),
        ("approve_settled", None, "approval settled", ""),
        ("sign_in_failed", None, "failed to sign in", ""),
    ],
)
def test_an_audit_row_says_its_action_in_words_and_a_queued_ones_fate(action, status, words, final):
    shown = audit_row(event(action=action), zone=UTC, final_status=status)
    assert (shown.action, shown.final) == (words, final)


@pytest.mark.parametrize(
    ("due", "words", "css"),
    [
        (NOW + timedelta(days=3, hours=4, minutes=5), "3 d 4 h left", "breach"),
        (NOW + timedelta(hours=3, minutes=20), "3 h 20 m left", "breach is-soon"),
        (NOW + timedelta(minutes=12), "12 m left", "breach is-soon"),
        (NOW - timedelta(hours=2, minutes=1), "breached 2 h 1 m ago", "breach is-breached"),
    ],
)
def test_an_open_request_shows_its_time_to_breach(due, words, css):
    shown = row(sla_due_at=due)

    assert (shown.breach, shown.breach_class) == (words, css)


def test_a_decided_request_shows_no_time_to_breach():
    assert row(state="APPROVED", sla_due_at=NOW - timedelta(days=1)).breach == ""
