"""A program manager's day in a real browser: filter, open, approve by type, reject, with
and without JavaScript; a reviewer triaging by keyboard; a viewer; an admin's CSV export."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from requests_app.models import AuditEvent, TrackingValueRequest

from .conftest import decided, shot

pytestmark = pytest.mark.django_db(transaction=True)


def open_id(request_type: str, **filters) -> str:
    return (
        TrackingValueRequest.objects.filter(state="NEW", request_type=request_type, **filters)
        .order_by("impact_id")
        .values_list("impact_id", flat=True)
        .first()
    )


def test_filters_update_results_and_url_and_history(sign_in, live_server):
    page = sign_in("alice")
    shot(page, "list")
    page.select_option("#id_request_type", "PHONE_NUMBER_TRACKING")
    page.wait_for_url(re.compile(r"request_type=PHONE_NUMBER_TRACKING"))
    types = page.locator("#results tbody .type").all_inner_texts()
    assert types and set(types) == {"Phone number"}
    page.click("#results .tabs >> text=Approved")
    page.wait_for_url(re.compile(r"state=APPROVED"))
    assert set(page.locator("#results tbody .state").all_inner_texts()) == {"Approved"}
    assert "request_type=PHONE_NUMBER_TRACKING" in page.url  # the URL keeps every filter
    page.go_back()
    page.wait_for_url(re.compile(r"state=NEW"))
    expect(page.locator("#results tbody .state").first).to_have_text("New")
    page.wait_for_load_state("networkidle")
    assert set(page.locator("#results tbody .state").all_inner_texts()) == {"New"}


def test_search_narrows_as_you_type(sign_in):
    page = sign_in("alice")
    before = page.locator("#results tbody tr").count()
    word = "deals"
    page.fill("#id_q", word)
    page.wait_for_url(re.compile(r"q=deals"))
    expect(page.locator("#results tbody tr").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    shown = page.locator("#results tbody a[data-open]").all_inner_texts()
    texts = TrackingValueRequest.objects.filter(impact_id__in=shown).values_list(
        "search_text", flat=True
    )
    assert shown and len(texts) == len(shown)
    assert all(word in text for text in texts)
    assert len(shown) < before or before == 50


def test_approve_each_type_and_reject_one(sign_in, live_server):
    page = sign_in("alice")
    promo = open_id("PROMOCODE_TRACKING")
    page.goto(f"{live_server.url}/r/{promo}/")
    shot(page, "approve-promo")
    page.fill("#id_promo_code", "E2E-CODE-1")
    page.check("input[name=credit_policy][value=WINNER]")
    page.click("[data-approve]")
    assert "approved" in decided(page).lower()

    url_id = open_id("BRANDED_URL_TRACKING")
    page.goto(f"{live_server.url}/r/{url_id}/")
    shot(page, "approve-url")
    assert page.locator("#id_promo_code").count() == 0
    page.fill("#id_url_id", "4242")
    page.click("[data-approve]")
    decided(page)

    phone = open_id("PHONE_NUMBER_TRACKING")
    page.goto(f"{live_server.url}/r/{phone}/")
    shot(page, "approve-phone")
    page.fill("#id_assigned_phone_number_id", "77")
    page.click("[data-approve]")
    decided(page)

    declined = open_id("PROMOCODE_TRACKING")
    page.goto(f"{live_server.url}/r/{declined}/")
    page.click("#reject-panel summary")
    page.fill("#id_reason_text", "Not our audience")
    page.click("#reject-panel button.danger")
    outcome = decided(page).lower()
    assert "rejected" in outcome or "declined" in outcome

    states = dict(
        TrackingValueRequest.objects.filter(
            impact_id__in=[promo, url_id, phone, declined]
        ).values_list("impact_id", "state")
    )
    assert states == {
        promo: "APPROVED",
        url_id: "APPROVED",
        phone: "APPROVED",
        declined: "DECLINED",
    }
    page.goto(f"{live_server.url}/")
    listed = page.locator("#results tbody a[data-open]").all_inner_texts()
    assert promo not in listed and declined not in listed


def test_invalid_regex_is_refused_in_the_page(sign_in, live_server):
    page = sign_in("alice")
    promo = open_id("PROMOCODE_TRACKING")
    page.goto(f"{live_server.url}/r/{promo}/")
    page.check("input[name=match_mode][value=RE]")
    page.fill("#id_promo_code", "SAVE[0-9")
    page.click("[data-approve]")
    page.wait_for_selector(".field-error")
    assert "does not compile" in page.inner_text("#decision")
    page.fill("#id_promo_code", "SAVE[0-9]+")
    page.fill("#id_samples", "SAVE10\nsave10")
    page.wait_for_selector("#code-check .hit")
    assert "SAVE10 matches" in page.inner_text("#code-check")


def test_approve_works_without_javascript(sign_in, live_server):
    page = sign_in("alice", javascript=False)
    url_id = open_id("BRANDED_URL_TRACKING")
    page.goto(f"{live_server.url}/r/{url_id}/")
    page.fill("#id_url_id", "99")
    page.click("[data-approve]")
    decided(page)
    assert TrackingValueRequest.objects.get(impact_id=url_id).state == "APPROVED"
    page.goto(f"{live_server.url}/?request_type=PHONE_NUMBER_TRACKING")
    assert set(page.locator("tbody .type").all_inner_texts()) == {"Phone number"}


def test_reviewer_claims_and_approves_with_the_keyboard_alone(sign_in, live_server):
    page = sign_in("alice")
    page.goto(f"{live_server.url}/?request_type=BRANDED_URL_TRACKING")
    page.keyboard.press("j")
    first = page.locator("tr[data-row].selected").get_attribute("data-id")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/r/{first}/"))
    page.keyboard.press("c")
    page.wait_for_selector("text=Held by")
    assert TrackingValueRequest.objects.get(impact_id=first).assigned_to.username == "alice"
    page.keyboard.press("a")
    page.keyboard.type("5150")
    page.keyboard.press("Enter")
    decided(page)
    assert TrackingValueRequest.objects.get(impact_id=first).state == "APPROVED"
    page.keyboard.press("?")
    assert page.locator("#keys-help").is_visible()


def test_viewer_sees_no_actions_and_is_refused_on_post(sign_in, live_server):
    page = sign_in("vera")
    promo = open_id("PROMOCODE_TRACKING")
    page.goto(f"{live_server.url}/r/{promo}/")
    assert page.locator("#approve-form").count() == 0
    assert "cannot approve" in page.inner_text("#decision") or "not approve" in page.inner_text(
        "#decision"
    )
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/r/{promo}/approve/",
        form={"promo_code": "X", "credit_policy": "WINNER", "match_mode": "LI"},
        headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/"},
    )
    assert response.status == 403
    assert TrackingValueRequest.objects.get(impact_id=promo).state == "NEW"


def test_admin_exports_the_audit_csv(sign_in, live_server):
    page = sign_in("ada")
    url_id = open_id("BRANDED_URL_TRACKING")
    page.goto(f"{live_server.url}/r/{url_id}/")
    page.fill("#id_url_id", "31")
    page.click("[data-approve]")
    decided(page)
    page.goto(f"{live_server.url}/audit/?action=approve")
    shot(page, "audit")
    with page.expect_download() as download:
        page.click("[data-export]")
    with open(download.value.path(), encoding="utf-8") as exported:
        text = exported.read()
    assert text.startswith("Event,When (UTC),Who")
    assert url_id in text and AuditEvent.objects.filter(action="approve").count() == 1
