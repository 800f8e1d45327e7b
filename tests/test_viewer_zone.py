"""Times in the viewer's zone: the browser's `tz` cookie (URL-encoded, as the page writes it)
is read, and UTC (TVR_TIME_ZONE) is used only when the browser says nothing we know."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PLACED = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)


@pytest.fixture
def placed(make_request):
    return make_request(DatePlaced=PLACED.isoformat())


@pytest.mark.parametrize(
    ("cookie", "shown", "zone"),
    [
        ("America%2FNew_York", "Sun 22 Nov 2026, 09:30 EST", "America/New_York"),
        ("America/New_York", "Sun 22 Nov 2026, 09:30 EST", "America/New_York"),
        ("Asia%2FTokyo", "Sun 22 Nov 2026, 23:30 JST", "Asia/Tokyo"),
        ("Not%2FA_Zone", "Sun 22 Nov 2026, 14:30 UTC", "UTC"),
        ("", "Sun 22 Nov 2026, 14:30 UTC", "UTC"),
    ],
)
def test_the_detail_page_shows_times_in_the_cookies_zone_and_names_it(
    as_alice, placed, cookie, shown, zone
):
    if cookie:
        as_alice.cookies["tz"] = cookie
    body = as_alice.get(reverse("requests:detail", args=[placed.impact_id])).content.decode()
    assert shown in body
    assert f"Times are in {zone}" in body


def test_a_page_drawn_without_the_browsers_zone_says_so_for_the_script(as_alice, placed):
    body = as_alice.get(reverse("requests:list")).content.decode()
    assert "data-zone-default" in body
    as_alice.cookies["tz"] = "Europe%2FParis"
    body = as_alice.get(reverse("requests:list")).content.decode()
    assert "data-zone-default" not in body
