"""An admin sets a deadline target and sees the time to breach in the list, sorted by it; a
reviewer sets what they are told, where and when."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from requests_app.models import NotificationSettings, SlaTarget

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_target_shows_time_to_breach_in_the_list_and_sorts_it(sign_in, live_server, seeded):
    page = sign_in("ada")
    page.click("nav.pages >> text=Team")
    page.click("text=the account's targets")
    page.select_option("#id_campaign", "")
    page.fill("#id_hours", "16")
    page.click("text=Save target")
    expect(page.locator(".message.success")).to_contain_text("Target set to 16 business hours")
    assert SlaTarget.objects.get(account_sid=seeded).hours == 16
    shot(page, "deadlines")

    page.click("a.brand")
    page.select_option("#id_sort", "breach")
    page.wait_for_url(re.compile(r"sort=breach"))
    page.wait_for_load_state("networkidle")
    shown = page.locator("#results tbody .breach").all_inner_texts()
    assert shown and all(text for text in shown)
    assert shown[0].startswith("breached")  # soonest first: the most overdue on top
    expect(page.locator("#results tbody .breach.is-breached").first).to_be_visible()
    shot(page, "list-by-breach")


def test_a_reviewer_sets_what_they_are_told_and_when(sign_in):
    page = sign_in("alice")
    page.click("a[title='Your settings']")
    page.check("text=New requests in my queues")
    page.check("text=Requests I hold about to breach")
    page.check("input[name=frequency][value=daily]")
    page.fill("#id_quiet_from", "22:00")
    page.fill("#id_quiet_to", "07:00")
    shot(page, "notification-settings")
    page.click("text=Save notifications")

    expect(page.locator(".message.success")).to_contain_text("notification settings are saved")
    prefs = NotificationSettings.objects.get(user__username="alice")
    assert (prefs.new_in_queues, prefs.about_to_breach, prefs.breaches) == (True, True, False)
    assert (prefs.frequency, str(prefs.quiet_from), str(prefs.quiet_to)) == (
        "daily",
        "22:00:00",
        "07:00:00",
    )
