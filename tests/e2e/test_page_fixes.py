"""Small fixes, each seen in a real browser: the code tester's live regex errors and stated
case rules, an empty "My queue", the Assign select and its asking first, bulk reject's count,
deleting a saved view asks first, the audit in words, tabs that say what they hold, focus kept
after swaps and errors, and the live region reading out list updates."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from requests_app.models import SavedView, TrackingValueRequest

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


def open_id(request_type: str) -> str:
    return (
        TrackingValueRequest.objects.filter(state="NEW", request_type=request_type)
        .order_by("impact_id")
        .values_list("impact_id", flat=True)
        .first()
    )


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_the_code_tester_says_live_that_a_regex_does_not_compile(sign_in, live_server):
    page = sign_in("alice")
    page.goto(f"{live_server.url}/r/{open_id('PROMOCODE_TRACKING')}/")
    page.fill("#id_samples", "SAVE10")
    page.check("input[name=match_mode][value=RE]")
    page.fill("#id_promo_code", "SAVE[0-9")  # no submit: the tester answers as you type
    error = page.locator("#code-check .field-error")
    expect(error).to_contain_text("does not compile")
    expect(page.locator("#code-check")).not_to_contain_text("does not match")
    expect(page.locator("#code-check")).to_contain_text("case-sensitive")
    shot(page, "tester-regex-error")

    page.check("input[name=match_mode][value=LI]")  # back to Exact: the error goes
    expect(error).to_have_count(0)
    expect(page.locator("#code-check")).to_contain_text("ignoring upper/lower case")
    # Both rules are stated next to the choices, before anything is tested.
    choices = page.inner_text("#approve-form fieldset:has(legend:text('Match mode'))")
    assert "ignoring upper/lower case" in choices and "case-sensitive" in choices


def test_an_empty_my_queue_says_it_is_empty(sign_in, live_server):
    page = sign_in("alice")
    page.click("#queues a:has-text('My queue')")
    page.wait_for_url(re.compile(r"queue=mine"))
    expect(page.locator("#results .empty h2")).to_have_text("Your queue is empty")
    expect(page.locator("#results")).not_to_contain_text("matches your filters")
    shot(page, "my-queue-empty")


def test_the_assign_select_starts_on_choose(sign_in, live_server):
    page = sign_in("alice")
    page.goto(f"{live_server.url}/r/{open_id('BRANDED_URL_TRACKING')}/")
    assert page.input_value("#id_assign_to") == ""
    expect(page.locator("#id_assign_to option:checked")).to_have_text("Choose…")


def test_assigning_a_request_someone_else_holds_asks_first(sign_in, live_server):
    from requests_app import queues

    request_id = open_id("BRANDED_URL_TRACKING")
    tvr = TrackingValueRequest.objects.get(impact_id=request_id)
    queues.claim(request=tvr, user=User.objects.get(username="ada"))
    page = sign_in("alice")
    page.goto(f"{live_server.url}/r/{request_id}/")
    page.select_option("#id_assign_to", label="alice")
    page.click("form.assign button")
    expect(page.locator("#decision")).to_contain_text("Confirm below to assign it anyway")
    assert TrackingValueRequest.objects.get(impact_id=request_id).assigned_to.username == "ada"
    shot(page, "assign-asks-first")
    page.click("form.confirm button")
    expect(page.locator(".holder")).to_contain_text("Held by alice")


def test_bulk_reject_says_how_many_are_selected_and_that_they_are_queued(
    sign_in, live_server, settings
):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    page = sign_in("alice")
    counter = page.locator(".bulk summary [data-selected-count]")
    expect(counter).to_have_text("0 requests selected")
    boxes = page.locator("input[name=ids][form=bulk]")
    boxes.nth(0).check()
    expect(counter).to_have_text("1 request selected")
    boxes.nth(1).check()
    expect(counter).to_have_text("2 requests selected")
    page.click(".bulk summary")
    expect(page.locator(".bulk")).to_contain_text("Each is queued for 30 seconds")
    shot(page, "bulk-reject-count")


@pytest.mark.parametrize("javascript", [True, False])
def test_deleting_a_saved_view_asks_first(sign_in, live_server, seeded, javascript):
    alice = User.objects.get(username="alice")
    SavedView.objects.create(
        account_sid=seeded, owner=alice, name="Phones", query="request_type=PHONE_NUMBER_TRACKING"
    )
    page = sign_in("alice", javascript=javascript)
    page.goto(f"{live_server.url}/views/" if not javascript else f"{live_server.url}/")
    page.click("[aria-label='Delete saved view Phones…']")
    expect(page.locator("h1")).to_have_text("Delete the saved view “Phones”?")
    assert SavedView.objects.filter(name="Phones").exists()  # asking deleted nothing
    shot(page, f"saved-view-delete-confirm-js-{javascript}")
    page.click("text=Keep it")
    page.wait_for_url(re.compile(r"request_type=PHONE_NUMBER_TRACKING"))
    assert SavedView.objects.filter(name="Phones").exists()

    page.goto(f"{live_server.url}/views/")
    page.click("[aria-label='Delete saved view Phones…']")
    page.click("button.danger")
    expect(page.locator(".messages")).to_contain_text("Deleted saved view “Phones”")
    assert not SavedView.objects.filter(name="Phones").exists()


def test_the_audit_filter_and_rows_use_words(sign_in, live_server):
    page = sign_in("ada")
    url_id = open_id("BRANDED_URL_TRACKING")
    page.goto(f"{live_server.url}/r/{url_id}/")
    page.click("form[data-claim] button")
    expect(page.locator(".holder")).to_contain_text("Held by ada")
    page.goto(f"{live_server.url}/audit/")
    labels = page.locator("#id_action option").all_inner_texts()
    assert "Queued an approval" in labels and "Approval settled" in labels
    assert not any("_" in label for label in labels), labels
    page.select_option("#id_action", label="Claimed it")
    page.wait_for_url(re.compile(r"action=claim"))
    expect(page.locator("#events tbody tr").first).to_contain_text("claimed it")
    shot(page, "audit-words")


def test_the_approved_and_completed_tabs_say_what_they_hold(sign_in, live_server):
    page = sign_in("alice")
    assert "not finished assigning" in page.get_attribute("#tab-approved", "title")
    assert "it is live for the partner" in page.get_attribute("#tab-completed", "title")
    page.locator("#tab-approved").press("Enter")
    page.wait_for_url(re.compile(r"state=APPROVED"))
    expect(page.locator("#results .summary")).to_contain_text(
        "approved, and impact.com has not finished assigning the value to the partner yet"
    )
    expect(page.locator("#tab-approved")).to_be_focused()  # focus kept across the swap
    expect(page.locator("#announce")).to_have_text(re.compile(r"^\d+ approved requests?$"))
    page.locator("#tab-completed").press("Enter")
    page.wait_for_url(re.compile(r"state=COMPLETED"))
    expect(page.locator("#results .summary")).to_contain_text("it is live for the partner")
    expect(page.locator("#tab-completed")).to_be_focused()
    shot(page, "tab-completed")


def test_a_filter_change_is_read_out_and_keeps_focus(sign_in, live_server):
    page = sign_in("alice")
    page.focus("#id_request_type")
    page.select_option("#id_request_type", "PHONE_NUMBER_TRACKING")
    page.wait_for_url(re.compile(r"request_type=PHONE_NUMBER_TRACKING"))
    shown = TrackingValueRequest.objects.filter(
        state="NEW", request_type="PHONE_NUMBER_TRACKING"
    ).count()
    expect(page.locator("#announce")).to_have_text(
        f"{shown} open request{'' if shown == 1 else 's'}"
    )
    assert focused_id(page) == "id_request_type"


def test_an_approve_error_puts_focus_on_the_field_to_fix(sign_in, live_server):
    page = sign_in("alice")
    page.goto(f"{live_server.url}/r/{open_id('BRANDED_URL_TRACKING')}/")
    page.fill("#id_url_id", "")
    page.click("[data-approve]")
    expect(page.locator("#id_url_id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_url_id")).to_be_focused()
