"""The layout in a real browser: one card per request on a 390 px phone with no sideways
scroll, the top bar on one line at 1400 px, and refusals in the app's own layout."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from requests_app.models import TrackingValueRequest

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"


def test_a_phone_shows_one_card_per_request_and_never_scrolls_sideways(sign_in, live_server):
    page = sign_in("alice", width=390)
    shot(page, "phone-list")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    rows = page.locator("#results tbody tr[data-row]")
    assert rows.count() > 5
    # Read in one go: the list may be swapped in anew (a refresh) between two reads.
    cards = page.eval_on_selector_all(
        "#results tbody tr[data-row]",
        """rows => rows.map(r => {
            const box = r.getBoundingClientRect();
            return [getComputedStyle(r).display, box.left, box.right];
        })""",
    )
    assert cards and all(
        display == "grid" and left >= 0 and right <= 390 for display, left, right in cards
    ), cards
    for i in range(rows.count()):
        row = rows.nth(i)
        # Partner, type, state and needed date show; the wide columns do not.
        for cell in (".c-partner", ".c-type", ".c-state", ".c-needed"):
            expect(row.locator(cell)).to_be_visible()
        for cell in (".c-campaign", ".c-deal", ".c-placed"):
            expect(row.locator(cell)).to_be_hidden()
    expect(rows.first.locator(".c-needed")).to_contain_text("Needed")

    promo = TrackingValueRequest.objects.filter(request_type="PROMOCODE_TRACKING").first()
    for name, path in [
        ("phone-detail", f"/r/{promo.impact_id}/"),
        ("phone-audit", "/audit/"),
        ("phone-team", "/team/"),
        ("phone-queue", "/?queue=unassigned"),
    ]:
        page.goto(f"{live_server.url}{path}")
        shot(page, name)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), name


def test_the_list_never_scrolls_sideways_from_desktop_down_to_the_cards(sign_in, live_server):
    page = sign_in("alice", width=1400)
    for width in (1400, 1280, 1024, 901, 900, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/?state=NEW")
        assert page.evaluate(NO_SIDEWAYS_SCROLL), width
        if width == 1024:
            shot(page, "list-1024")


@pytest.mark.parametrize("who", ["alice", "ada"])  # the admin's bar is the longest
def test_the_top_bar_stays_on_one_line_at_1400_px(sign_in, who):
    page = sign_in(who, width=1400)
    tops = page.locator(".topbar > *").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect()).map(r => [r.top, r.bottom])"
    )
    middles = [(top + bottom) / 2 for top, bottom in tops]
    assert max(middles) - min(middles) < 8, tops
    height = page.locator(".topbar").evaluate("e => e.getBoundingClientRect().height")
    assert height < 50, height
    shot(page, f"topbar-1400-{who}")


def test_a_viewer_refused_sees_the_apps_layout_and_why(sign_in, live_server):
    page = sign_in("vera")
    response = page.goto(f"{live_server.url}/reasons/")
    assert response.status == 403
    expect(page.locator(".topbar")).to_be_visible()  # the app's own layout, its navigation
    expect(page.locator("h1")).to_have_text("You cannot do this")
    expect(page.locator(".refusal")).to_contain_text(
        "The viewer role cannot edit the rejection reasons. You are signed in as vera (viewer)"
    )
    expect(page.locator(".refusal a")).to_have_text("Back to the requests")
    shot(page, "refusal-403")

    # A POST the role may not make answers the same page, saying why.
    promo = TrackingValueRequest.objects.filter(state="NEW").first()
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"{live_server.url}/r/{promo.impact_id}/approve/",
        form={"url_id": "5"},
        headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/"},
    )
    assert refused.status == 403
    body = refused.text()
    assert "You cannot do this" in body and 'class="topbar"' in body
    assert "The viewer role cannot approve or reject requests." in body
    assert "403 Forbidden" not in body

    missing = page.goto(f"{live_server.url}/r/no-such-request/")
    assert missing.status == 404
    expect(page.locator("h1")).to_have_text("Nothing here")
    expect(page.locator(".refusal")).to_contain_text("/r/no-such-request/")
    shot(page, "not-found-404")
