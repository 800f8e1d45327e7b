"""Approving a branded URL and a phone number by picking them from the account's list, in a
real browser: search, click, approve; the id sent is the one picked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from requests_app import tracking_values
from requests_app.models import Decision, TrackingValueRequest

from .conftest import decided, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def values(seeded) -> str:
    tracking_values.refresh(seeded, force=True)  # from the in-process sandbox
    return seeded


def open_one(request_type: str) -> TrackingValueRequest:
    return (
        TrackingValueRequest.objects.filter(state="NEW", request_type=request_type)
        .order_by("impact_id")
        .first()
    )


def test_approve_a_branded_url_by_picking_it_from_the_list(sign_in, live_server, values):
    tvr = open_one("BRANDED_URL_TRACKING")
    page = sign_in("alice")
    page.goto(f"{live_server.url}/r/{tvr.impact_id}/")
    page.fill("#id_url_id-search", "880007")
    pick = page.locator('#id_url_id-results [data-pick-target="id_url_id"][value="880007"]')
    expect(pick).to_have_count(1)
    expect(page.locator("#id_url_id-results button.pick")).to_have_count(1)
    pick.click()
    expect(page.locator("#id_url_id")).to_have_value("880007")
    shot(page, "picker-url")
    page.click("[data-approve]")
    assert "pprove" in decided(page)
    assert Decision.objects.get(request__impact_id=tvr.impact_id).sent["UrlId"] == "880007"


def test_approve_a_phone_number_by_picking_it_from_the_list(sign_in, live_server, values):
    tvr = open_one("PHONE_NUMBER_TRACKING")
    page = sign_in("alice")
    page.goto(f"{live_server.url}/r/{tvr.impact_id}/")
    field = "id_assigned_phone_number_id"
    page.fill(f"#{field}-search", "440012")
    pick = page.locator(f'#{field}-results [data-pick-target="{field}"][value="440012"]')
    expect(pick).to_have_count(1)
    pick.click()
    expect(page.locator(f"#{field}")).to_have_value("440012")
    page.click("[data-approve]")
    assert "pprove" in decided(page)
    sent = Decision.objects.get(request__impact_id=tvr.impact_id).sent
    assert sent["AssignedPhoneNumberId"] == "440012"


def test_enter_in_the_picker_search_does_not_approve(sign_in, live_server, values):
    tvr = open_one("BRANDED_URL_TRACKING")
    page = sign_in("alice")
    page.goto(f"{live_server.url}/r/{tvr.impact_id}/")
    page.fill("#id_url_id-search", "880003")
    page.press("#id_url_id-search", "Enter")
    page.wait_for_load_state("networkidle")
    assert not Decision.objects.filter(request__impact_id=tvr.impact_id).exists()
