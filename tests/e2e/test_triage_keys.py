"""Keyboard-first triage in a real browser: ten decisions from the list in at most 30 keys,
impact.com receiving exactly those ten calls; Enter in any approve field sends the approval
(never the code tester); the next request opening by itself with a notice and its Undo;
every key the help lists for a page working there."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from requests_app.models import Decision, RejectionReason, TrackingValueRequest
from requests_app.sandbox import api
from requests_app.sandbox.models import SandboxRequest

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)

OWN = settings.IMPACT_SANDBOX_ACCOUNT_SID  # rejection reasons are per account

REASONS = ["Not our audience", "Duplicate request", "Deal not running"]


@pytest.fixture
def reasons(seeded):
    for position, label in enumerate(REASONS):
        RejectionReason.objects.create(account_sid=OWN, label=label, position=position)


@pytest.fixture
def impact_calls(monkeypatch) -> list[tuple[str, str, int]]:
    """Every approve (PUT) and reject (DELETE) the in-process sandbox answers, as
    (method, request id, status): what impact.com received."""
    calls: list[tuple[str, str, int]] = []
    real = api.handle

    def handle(method, path, *args, **kwargs):
        reply = real(method, path, *args, **kwargs)
        if method.upper() in ("PUT", "DELETE"):
            calls.append((method.upper(), path.rstrip("/").rsplit("/", 1)[-1], reply.status))
        return reply

    monkeypatch.setattr(api, "handle", handle)
    return calls


def free_promo_id() -> str:
    """An open promo code request asking for a code no other partner holds."""
    taken = {
        code.upper()
        for code in TrackingValueRequest.objects.exclude(approved_value="").values_list(
            "approved_value", flat=True
        )
    }
    for impact_id, code in (
        TrackingValueRequest.objects.filter(state="NEW", request_type="PROMOCODE_TRACKING")
        .exclude(requested_value="")
        .order_by("impact_id")
        .values_list("impact_id", "requested_value")
    ):
        if code.upper() not in taken:
            return impact_id
    raise AssertionError("the seed has no free promo code request")


def shown_id(page) -> str:
    return re.search(r"/r/([^/]+)/", page.url).group(1)


def test_ten_decisions_from_the_list_in_at_most_thirty_keys(
    sign_in, live_server, reasons, impact_calls
):
    page = sign_in("alice")
    page.goto(f"{live_server.url}/?request_type=PROMOCODE_TRACKING")
    before = dict(SandboxRequest.objects.values_list("impact_id", "state"))
    pressed: list[str] = []

    def press(*keys: str) -> None:
        for key in keys:
            pressed.append(key)
            page.keyboard.press(key)

    press("j", "Enter")
    expected: list[tuple[str, str, int]] = []
    for turn in range(10):
        page.wait_for_selector("#approve-form")
        request_id = shown_id(page)
        # Approve every other one with the pre-filled code and the default policy, unless the
        # page says it needs an explicit yes first (a code another partner holds); reject the
        # rest with the first reason.
        needs_a_yes = page.locator("#id_confirm_taken").count() > 0
        if turn % 2 == 0 and page.input_value("#id_promo_code") and not needs_a_yes:
            press("a", "Enter")
            expected.append(("PUT", request_id, 200))
        else:
            press("r")
            expect(page.locator("#id_reason")).to_be_focused()
            press("ArrowDown", "Enter")
            expected.append(("DELETE", request_id, 200))
        page.wait_for_url(re.compile(rf"done={request_id}"))
        expect(page.locator("#notice")).to_contain_text(f"Request {request_id}")
        if turn == 0:
            shot(page, "triage-next-request")

    page.wait_for_load_state("networkidle")
    assert len(pressed) <= 30, pressed
    print(f"Ten decisions took {len(pressed)} keys: {' '.join(pressed)}")
    assert impact_calls == expected
    after = dict(SandboxRequest.objects.values_list("impact_id", "state"))
    changed = {rid: state for rid, state in after.items() if before[rid] != state}
    assert changed == {
        int(rid): "APPROVED" if method == "PUT" else "DECLINED" for method, rid, _ in expected
    }
    rejected = [rid for method, rid, _ in expected if method == "DELETE"]
    assert set(
        Decision.objects.filter(request__impact_id__in=rejected).values_list("reason", flat=True)
    ) == {REASONS[0]}


@pytest.mark.parametrize(
    "field", ["#id_promo_code", "input[name=credit_policy]:checked", "#id_deal_name"]
)
def test_enter_in_any_approve_field_sends_the_approval_never_the_tester(
    sign_in, live_server, impact_calls, field
):
    page = sign_in("alice")
    promo = free_promo_id()
    page.goto(f"{live_server.url}/r/{promo}/")
    tests: list[str] = []
    page.on("request", lambda r: tests.append(r.url) if "check=1" in r.url else None)
    # The tester has something to test, and has answered (it waits 300 ms after typing).
    with page.expect_response(lambda r: "check=1" in r.url):
        page.fill("#id_samples", "SOMETHING")
    tests.clear()
    if field == "#id_deal_name":
        page.click(".deal-fields summary")
    page.focus(field)
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"done={promo}"))  # and the next request opened
    page.wait_for_load_state("networkidle")
    assert [m for m, rid, _ in impact_calls if rid == promo] == ["PUT"]
    assert tests == []
    assert TrackingValueRequest.objects.get(impact_id=promo).state == "APPROVED"
