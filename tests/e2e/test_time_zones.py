"""Times in the viewer's zone, in a real browser: a context in America/New_York sees New York
times on the detail page (which names the zone), the list, the timeline and the audit; UTC
only when the browser says nothing."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from requests_app.models import TrackingValueRequest

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)

NEW_YORK = ZoneInfo("America/New_York")


def offset(value: datetime) -> str:
    """'-05:00': how an ISO time in New York ends."""
    return value.astimezone(NEW_YORK).isoformat()[-6:]


def test_a_new_york_browser_sees_new_york_times_everywhere(sign_in, live_server):
    page = sign_in("alice", timezone_id="America/New_York")
    tvr = TrackingValueRequest.objects.filter(state="NEW").order_by("impact_id").first()
    placed = tvr.date_placed.astimezone(NEW_YORK)

    # The list: its dates and the zone it says they are in.
    page.goto(f"{live_server.url}/?state=all")
    expect(page.locator("#results .summary")).to_contain_text("dates in America/New_York")
    stamps = page.locator("#results tbody time").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime')).filter(Boolean)"
    )
    assert stamps and all(re.search(r"-0[45]:00$", s) for s in stamps), stamps[:5]

    # The detail page names the zone and shows the placed time there.
    page.goto(f"{live_server.url}/r/{tvr.impact_id}/")
    expect(page.locator(".zone")).to_have_text("Times are in America/New_York.")
    shown = f"{placed:%a} {placed.day} {placed:%b %Y, %H:%M %Z}"
    expect(page.locator("dl.fields time").first).to_have_text(shown)

    # A comment: the timeline and the audit show its time in New York too.
    page.fill("#id_body", "Checking the partner's site")
    page.click(".comment-form button")
    expect(page.locator("#timeline-events")).to_contain_text("Checking the partner's site")
    times = page.locator("#timeline-events time").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))"
    )
    assert times and all(t.endswith(offset(placed)) for t in times), times
    shot(page, "zone-detail-new-york")

    page.goto(f"{live_server.url}/audit/?request_id={tvr.impact_id}")
    row = page.locator("#events tbody tr").first
    expect(row).to_contain_text("commented")
    stamp = row.locator("time").get_attribute("datetime")
    assert stamp.endswith(offset(datetime.fromisoformat(stamp)))
    local = datetime.fromisoformat(stamp).astimezone(NEW_YORK)
    expect(row.locator("time")).to_have_text(f"{local:%Y-%m-%d %H:%M:%S}")
    shot(page, "zone-audit-new-york")


def test_a_browser_that_says_nothing_sees_utc_and_is_told_so(sign_in, live_server):
    page = sign_in("alice", javascript=False)  # no script: no zone cookie
    tvr = TrackingValueRequest.objects.filter(state="NEW").order_by("impact_id").first()
    page.goto(f"{live_server.url}/r/{tvr.impact_id}/")
    expect(page.locator(".zone")).to_have_text(
        "Times are in UTC (your browser did not say its time zone)."
    )
    placed = tvr.date_placed.astimezone(ZoneInfo("UTC"))
    expect(page.locator("dl.fields time").first).to_contain_text(f"{placed:%H:%M} UTC")
