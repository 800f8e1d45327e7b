"""An admin writes a rule in the browser, reads its dry run, enables it, syncs, and sees what
it decided; a reviewer confirms a suggestion with one key."""

from __future__ import annotations

import re

import pytest
from django.db.models import Count
from playwright.sync_api import expect

from requests_app.models import AuditEvent, Decision, Rule, TrackingValueRequest

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


def busiest_partner() -> tuple[int, int]:
    """The partner with the most open promo code requests, and how many."""
    row = (
        TrackingValueRequest.objects.filter(state="NEW", request_type="PROMOCODE_TRACKING")
        .exclude(requested_value="")
        .values("media_partner_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "media_partner_id")
        .first()
    )
    return row["media_partner_id"], row["n"]


def test_a_rule_written_read_enabled_and_synced_decides_what_its_dry_run_said(sign_in, live_server):
    partner, _ = busiest_partner()
    page = sign_in("ada")
    page.click("nav.pages >> text=Rules")
    page.click("text=New rule")
    page.fill("#id_name", "Top partner gets their code")
    page.select_option("#id_request_type", "PROMOCODE_TRACKING")
    page.select_option("#id_partner_ids", str(partner))
    page.check("input[name=action][value=approve]")
    page.check("input[name=mode][value=decide]")
    expect(page.locator("#id_url_id")).to_be_hidden()  # the fields follow the type
    expect(page.locator("#id_reason")).to_be_hidden()  # and the action
    page.check("input[name=code_source][value=requested]")
    shot(page, "rule-form")
    page.click("text=Save and see its dry run")

    page.wait_for_url(re.compile(r"/rules/\d+/$"))
    shot(page, "rule-dry-run")
    said = page.inner_text("#h-now + p")
    would = int(re.search(r"approve (\d+)", said).group(1))
    assert would > 0
    page.click("text=Enable version 1")
    expect(page.locator(".message.success")).to_contain_text("is enabled")
    assert AuditEvent.objects.filter(action="rule_enabled").count() == 1

    page.click("a.brand")
    page.click("#sync-status button")
    page.wait_for_load_state("networkidle")
    rule = Rule.objects.get()
    assert Decision.objects.filter(rule=rule, status="sent").count() == would

    page.goto(page.url.split("/a/")[0] + f"/rules/{rule.pk}/")
    expect(page.locator("#h-recent + table tbody tr")).to_have_count(min(would, 20))
    shot(page, "rule-decided")
    page.click("#h-recent + table tbody tr:first-child a")
    expect(page.locator("#decision .outcome")).to_contain_text("rule “Top partner gets")
    shot(page, "request-decided-by-rule")


def test_a_reviewer_confirms_a_rules_suggestion_with_one_key(sign_in, seeded):
    partner, _ = busiest_partner()
    rule = Rule.objects.create(
        account_sid=seeded,
        name="Suggest the partner's code",
        request_type="PROMOCODE_TRACKING",
        partner_ids=[partner],
        action="approve",
        mode="suggest",
        code_source="requested",
        credit_policy="INVOLVED",
        match_mode="LI",
        enabled=True,
    )
    target = (
        TrackingValueRequest.objects.filter(
            state="NEW", request_type="PROMOCODE_TRACKING", media_partner_id=partner
        )
        .exclude(requested_value="")
        .order_by("impact_id")
        .first()
    )
    page = sign_in("alice")
    page.goto(page.url + f"r/{target.impact_id}/")
    expect(page.locator(".suggestion")).to_contain_text("suggests: approve")
    shot(page, "suggestion")
    page.keyboard.press("y")

    page.wait_for_selector("#decision .outcome, #notice")
    decision = Decision.objects.get(request=target)
    assert (decision.decided_by.username, decision.suggested_by_id) == ("alice", rule.pk)
    assert decision.sent["PromoCode"] == target.requested_value
