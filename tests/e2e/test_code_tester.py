"""The code tester in a real browser: what its GETs carry, with and without JavaScript, and
its answer to a pattern that would backtrack for minutes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from requests_app.models import TrackingValueRequest

pytestmark = pytest.mark.django_db(transaction=True)

TESTER_FIELDS = {"promo_code", "match_mode", "samples", "check"}


def promo_id() -> str:
    return (
        TrackingValueRequest.objects.filter(state="NEW", request_type="PROMOCODE_TRACKING")
        .order_by("impact_id")
        .values_list("impact_id", flat=True)
        .first()
    )


def keys(url: str) -> set[str]:
    return set(parse_qs(urlsplit(url).query, keep_blank_values=True))


def test_the_testers_htmx_gets_carry_only_its_fields(sign_in, live_server):
    page = sign_in("alice")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "check=1" in r.url else None)
    page.goto(f"{live_server.url}/r/{promo_id()}/")
    assert not page.locator("#id_test_code").is_visible()  # the copy for no JavaScript

    page.fill("#id_promo_code", "SAVE[0-9]+")
    page.check("input[name=match_mode][value=RE]")
    page.fill("#id_samples", "SAVE10\nsave10")
    page.wait_for_selector("#code-check .hit")
    page.click("text=Test matches")
    page.wait_for_load_state("networkidle")

    assert "SAVE10 matches" in page.inner_text("#code-check")
    assert "save10 does not match" in page.inner_text("#code-check")
    assert len(sent) >= 3
    for url in sent:
        assert "csrfmiddlewaretoken" not in url
        assert keys(url) <= TESTER_FIELDS, url


def test_the_tester_works_without_javascript_and_sends_only_its_fields(sign_in, live_server):
    page = sign_in("alice", javascript=False)
    page.goto(f"{live_server.url}/r/{promo_id()}/")
    page.fill("#id_test_code", "SAVE[0-9]+")
    page.select_option("#id_test_mode", "RE")
    page.fill("#id_samples", "SAVE10\nsave10")
    page.click("text=Test matches")
    page.wait_for_load_state()

    assert keys(page.url) == TESTER_FIELDS and "csrfmiddlewaretoken" not in page.url
    assert "SAVE10 matches" in page.inner_text("#code-check")
    assert page.input_value("#id_promo_code") == "SAVE[0-9]+"  # the tested code, to approve


def test_a_backtracking_pattern_gets_a_clear_answer_in_the_page(sign_in, live_server):
    page = sign_in("alice")
    page.goto(f"{live_server.url}/r/{promo_id()}/")
    page.check("input[name=match_mode][value=RE]")
    page.fill("#id_samples", "a" * 40 + "!")
    page.fill("#id_promo_code", "(a|aa)+$")
    page.wait_for_selector("#code-check .field-error", timeout=5_000)
    assert "takes too long to test" in page.inner_text("#code-check")
