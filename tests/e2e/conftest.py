"""Browser tests: Playwright drives Debian's Chromium against the live test server.

They skip (saying why) where Chromium or Playwright is missing, except in CI, where
TVR_E2E_REQUIRED=1 turns a missing browser into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from requests_app import impact, roles, sync
from requests_app.models import Account
from requests_app.sandbox import seed

# Playwright's sync API runs an event loop in this thread; the ORM calls here are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery"


def _missing(reason: str) -> None:
    if os.environ.get("TVR_E2E_REQUIRED") == "1":
        pytest.fail(f"Browser tests are required here but cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    executable = shutil.which("chromium")
    if not executable:
        _missing("Debian's chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def seeded(transactional_db, settings) -> str:
    """The sandbox seeded and synced into the cache, plus one user per role."""
    sid = settings.IMPACT_SANDBOX_ACCOUNT_SID
    seed.seed(sid, count=150, seed=3)
    now = timezone.now()
    sync.store(sid, impact.get_client().list_requests(), fetched_at=now)
    # Synced just now: no background sync starts with the first list, whose end would redraw
    # the list at a moment no test chose (a race with whatever the test is reading).
    Account.objects.update_or_create(
        sid=sid, defaults={"last_full_sync_at": now, "last_synced_at": now}
    )
    roles.ensure_roles()
    for name, role in (("vera", roles.VIEWER), ("alice", roles.REVIEWER), ("ada", roles.ADMIN)):
        user = User.objects.create_user(name, password=PASSWORD)
        roles.grant(user, sid, role)
    return sid


@pytest.fixture
def sign_in(browser, live_server, seeded):
    contexts = []

    def login(
        username: str,
        *,
        javascript: bool = True,
        width: int = 1280,
        timezone_id: str | None = None,
        bypass_csp: bool = False,
    ):
        # bypass_csp: for axe-core, which add_script_tag injects inline (the CSP allows 'self').
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            java_script_enabled=javascript,
            accept_downloads=True,
            timezone_id=timezone_id,
            bypass_csp=bypass_csp,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield login
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    """Save a screenshot when TVR_E2E_SCREENSHOTS names a folder (to look at, not to assert)."""
    folder = os.environ.get("TVR_E2E_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def decided(page) -> str:
    """Wait for a decision's result and return its words: the request's own outcome when the
    reviewer stays, or the notice on the next request that opened by itself."""
    page.wait_for_selector("#decision .outcome, #notice")
    return page.inner_text("#notice" if page.locator("#notice").count() else "#decision")
