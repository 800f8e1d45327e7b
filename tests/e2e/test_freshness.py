"""Fresh after a decision, in a real browser: the header badge, the timeline and the queue
counts say it at once; Back to the list never shows the decided row as plain "New"; a queued
decision is marked as queued in the list and the audit says what became of it."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from requests_app import tasks
from requests_app.models import Preference

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)

PHONES = "/?request_type=PHONE_NUMBER_TRACKING"


def count(page, selector: str) -> int:
    return int(page.inner_text(selector).strip())


def stay_after_deciding(page, live_server) -> None:
    """Turn auto-advance off on the settings page, as a reviewer who prefers to stay would."""
    page.goto(f"{live_server.url}/preferences/")
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.uncheck("#id_auto_advance")
    assert Preference.auto_advance_for(Preference.objects.get().user) is False


def open_first_row(page, live_server) -> str:
    page.goto(f"{live_server.url}{PHONES}")
    link = page.locator("#results tbody a[data-open]").first
    request_id = link.inner_text()
    link.click()
    page.wait_for_url(re.compile(rf"/r/{request_id}/"))
    return request_id


def test_badge_timeline_and_counts_follow_a_decision_and_back_is_never_stale(sign_in, live_server):
    page = sign_in("alice")
    stay_after_deciding(page, live_server)
    page.goto(f"{live_server.url}{PHONES}")
    open_tab = count(page, "#tab-new .count")
    all_open = count(page, "#queues a:has-text('All open') .count")

    request_id = open_first_row(page, live_server)
    expect(page.locator("#state-badge")).to_have_text("New")
    page.fill("#id_assigned_phone_number_id", "77")
    page.click("[data-approve]")
    page.wait_for_selector("#decision .outcome")

    # Everything on the page that says the state says it now, without a reload.
    expect(page.locator("#state-badge")).to_have_text("Approved")
    expect(page.locator("#timeline-events")).to_contain_text("alice approved")
    expect(page.locator("#queues a:has-text('All open') .count")).to_have_text(str(all_open - 1))
    expect(page.locator("#announce")).to_contain_text("Approval sent to impact.com")
    shot(page, "fresh-detail-after-decision")

    page.go_back()
    page.wait_for_url(re.compile(r"request_type=PHONE_NUMBER_TRACKING"))
    expect(page.locator("#tab-new .count")).to_have_text(str(open_tab - 1))
    row = page.locator(f"#results tr[data-id='{request_id}']")
    assert row.count() == 0 or row.locator(".state").inner_text() != "New"
    shot(page, "fresh-list-after-back")


@pytest.fixture
def never_sent(monkeypatch) -> list[int]:
    """Queued decisions stay queued (no worker sends them): what the reviewer sees meanwhile."""
    queued: list[int] = []
    task = SimpleNamespace(
        get_backend=lambda: SimpleNamespace(supports_defer=False), enqueue=queued.append
    )
    monkeypatch.setattr(tasks, "send_decision_task", task)
    return queued


def test_a_queued_decision_is_marked_in_the_list_and_its_fate_told_in_the_audit(
    sign_in, live_server, settings, never_sent
):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    page = sign_in("alice")
    stay_after_deciding(page, live_server)
    request_id = open_first_row(page, live_server)
    page.fill("#id_assigned_phone_number_id", "78")
    page.click("[data-approve]")
    expect(page.locator("#state-badge")).to_have_text("Approval queued")
    expect(page.locator("[data-undo]")).to_be_focused()  # focus is not lost on the body
    assert never_sent

    page.go_back()
    page.wait_for_url(re.compile(r"request_type=PHONE_NUMBER_TRACKING"))
    expect(page.locator(f"#results tr[data-id='{request_id}'] .state")).to_have_text(
        "Approval queued"
    )
    shot(page, "fresh-list-queued-row")

    page.goto(f"{live_server.url}/audit/?request_id={request_id}")
    queued = page.locator("#events tbody tr").first
    expect(queued).to_contain_text("queued an approval")
    expect(queued).to_contain_text("Pending — still queued")

    page.goto(f"{live_server.url}/r/{request_id}/")
    page.click("[data-undo]")
    expect(page.locator("#state-badge")).to_have_text("New")
    page.goto(f"{live_server.url}/audit/?request_id={request_id}")
    rows = page.locator("#events tbody tr")
    expect(rows.first).to_contain_text("undid an approval")
    expect(rows.first).not_to_contain_text("then undone")  # the fate is told on the queued row
    expect(rows.nth(1)).to_contain_text("— then undone, nothing sent")
    shot(page, "fresh-audit-queued-fate")
