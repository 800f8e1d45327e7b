"""Two impact.com accounts in a real browser: the top bar's Account switcher opens the other
account, every address then names it, the role shown is the one held there, and All my
accounts counts both."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import expect

from requests_app import roles
from tests.conftest import wire_request
from tests.impact_server import ImpactServer

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)

SOUTH, SOUTH_TOKEN = "IRSouth000000000000000000000002", "south/Token+2=="


@pytest.fixture
def south(seeded, monkeypatch):
    """A second account on its own impact.com-compatible server; alice only reads it."""
    server = ImpactServer(SOUTH, SOUTH_TOKEN).start()
    server.account = {"CompanyInformation": [{"CompanyName": "South Surf Ltd."}]}
    for partner in ("Southern Waves", "Reef Savings"):
        payload = wire_request(MediaPartnerName=partner)
        payload["Uri"] = f"/Advertisers/{SOUTH}/TrackingValueRequests/{payload['Id']}"
        server.add(payload)
    monkeypatch.setenv("SOUTH_TOKEN", SOUTH_TOKEN)
    call_command("add_account", SOUTH, "--token-env", "SOUTH_TOKEN", "--base-url", server.url)
    call_command("sync_requests", "--account", SOUTH, "--quiet")
    roles.grant(User.objects.get(username="alice"), SOUTH, roles.VIEWER)
    yield server
    server.stop()


def test_the_account_switcher_opens_the_other_account_and_its_links_name_it(
    sign_in, live_server, south
):
    page = sign_in("alice")
    expect(page.locator("label[for=account-switch]")).to_have_text("Account")
    expect(page.locator(".me")).to_contain_text("(reviewer)")
    shot(page, "accounts-1-sandbox")

    page.select_option("#account-switch", SOUTH)  # opens it at once (JavaScript on)
    page.wait_for_url(f"{live_server.url}/a/{SOUTH}/")
    expect(page.locator("#results")).to_contain_text("Southern Waves")
    expect(page.locator(".me")).to_contain_text("(viewer)")
    expect(page.locator("#account-switch")).to_have_value(SOUTH)
    shot(page, "accounts-2-south")

    page.locator("#results tbody a[data-open]").first.click()
    page.wait_for_url(re.compile(rf"/a/{SOUTH}/r/\w+/"))
    expect(page.locator("[data-approve]")).to_have_count(0)  # a viewer here

    page.goto(f"{live_server.url}/")  # no account in the address: the one last opened
    expect(page.locator("#results")).to_contain_text("Reef Savings")

    page.click("text=All my accounts")
    expect(page.locator("h1")).to_have_text("All my accounts")
    expect(page.locator("table")).to_contain_text("South Surf Ltd.")
    shot(page, "accounts-3-all")


def test_without_javascript_the_open_button_switches(sign_in, live_server, south):
    page = sign_in("alice", javascript=False)
    page.select_option("#account-switch", SOUTH)
    page.click(".account-switch button")
    page.wait_for_url(f"{live_server.url}/a/{SOUTH}/")
    assert "Southern Waves" in page.inner_text("#results")


def test_a_superuser_adds_an_account_in_the_browser_and_its_admin_grants_a_role(
    browser, live_server, seeded, monkeypatch
):
    from requests_app.models import Account

    server = ImpactServer(SOUTH, SOUTH_TOKEN).start()
    server.account = {"CompanyInformation": [{"CompanyName": "South Surf Ltd."}]}
    User.objects.create_superuser("root", password="correct-horse-battery-staple")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "correct-horse-battery-staple")
        page.click("button.primary")
        page.click("text=Accounts")
        page.fill("#id_sid", SOUTH)
        page.fill("#id_token", "a-wrong-token")
        page.fill("#id_base_url", server.url)
        page.click("text=Check with impact.com and save")
        expect(page.locator("[role=alert]")).to_contain_text("did not accept")
        assert not Account.objects.filter(sid=SOUTH).exists()

        page.fill("#id_token", SOUTH_TOKEN)  # the refused one was not kept in the form
        page.click("text=Check with impact.com and save")
        expect(page.locator(".messages")).to_contain_text("South Surf Ltd.")
        expect(page.locator("table")).to_contain_text("token saved")
        assert SOUTH_TOKEN not in page.content()
        shot(page, "accounts-4-added")

        page.select_option("#account-switch", SOUTH)
        page.wait_for_url(f"{live_server.url}/a/{SOUTH}/")
        page.click("text=Team")
        page.fill("#id_grant_username", "alice")
        page.select_option("#id_grant_role", "reviewer")
        page.click("text=Set role")
        expect(page.locator(".messages")).to_contain_text("alice is now reviewer")
        expect(page.locator("#h-people + table")).to_contain_text("alice")
        shot(page, "accounts-5-team")
        assert roles.role_on(User.objects.get(username="alice"), SOUTH) == roles.REVIEWER
    finally:
        context.close()
        server.stop()
