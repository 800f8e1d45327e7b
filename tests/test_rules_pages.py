"""The rules pages: writing a rule, its dry run, enabling it (audited), the kill switch, and
the request and team pages naming the rule that decided or suggested."""

from __future__ import annotations

from typing import Any

import pytest

from requests_app import decisions, impact, rules
from requests_app.models import Account, AuditEvent, Decision, Rule, State, TrackingValueRequest
from tests.conftest import in_account
from tests.test_rules import code, decided, enable, make_rule, put

pytestmark = pytest.mark.django_db


@pytest.fixture
def sid(sandbox_sid) -> str:
    Account.objects.get_or_create(sid=sandbox_sid)
    return sandbox_sid


def rule_form(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Trail codes",
        "request_type": "PROMOCODE_TRACKING",
        "action": "approve",
        "mode": "decide",
        "code_source": "requested",
        "credit_policy": "INVOLVED",
        "match_mode": "LI",
        "quota_period": "month",
        "deal": "",
        **overrides,
    }


def test_an_admin_writes_a_rule_and_reads_its_dry_run_before_enabling_it(client, admin, fake, sid):
    put(fake, sid, **code("TRAIL1"))
    put(fake, sid, **decided("TRAIL9", state="DECLINED"))
    client.force_login(admin)

    response = client.post(in_account("/rules/new/"), rule_form(code_pattern="TRAIL[0-9]"))

    rule = Rule.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/rules/{rule.pk}/")
    assert not rule.enabled and rule.version == 1
    page = client.get(in_account(f"/rules/{rule.pk}/")).content.decode()
    assert "approve 1</strong>" in page
    assert "Where it disagrees with what was decided (1)" in page
    assert "Enable version 1" in page
    saved = AuditEvent.objects.get(action="rule_saved")
    assert (saved.actor_name, saved.detail["definition"]["code_pattern"]) == ("ada", "TRAIL[0-9]")

    client.post(in_account(f"/rules/{rule.pk}/enable/"), {"version": "1"})

    rule.refresh_from_db()
    assert rule.enabled
    enabled = AuditEvent.objects.get(action="rule_enabled")
    assert enabled.detail["dry_run"]["now"] == {"approve": 1}
    assert enabled.detail["dry_run"]["disagreements"] == 1


def test_enabling_a_version_other_than_the_one_read_is_refused(client, admin, sid):
    rule = make_rule(sid, version=2)
    client.force_login(admin)

    response = client.post(in_account(f"/rules/{rule.pk}/enable/"), {"version": "1"}, follow=True)

    assert "changed since that dry run" in response.content.decode()
    rule.refresh_from_db()
    assert not rule.enabled
    assert not AuditEvent.objects.filter(action="rule_enabled").exists()


def test_editing_an_enabled_rule_makes_a_new_version_that_is_off(client, admin, sid):
    rule = enable(make_rule(sid, name="Trail codes"))
    client.force_login(admin)

    client.post(in_account(f"/rules/{rule.pk}/edit/"), rule_form(max_number="3"))

    rule.refresh_from_db()
    assert (rule.version, rule.enabled, rule.max_number) == (2, False, 3)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code_pattern": "(a{1000}){1000}"}, "code_pattern", "repeats too much"),
        ({"code_pattern": "[unclosed"}, "code_pattern", "does not compile"),
        ({"request_type": ""}, "request_type", "one request type"),
        ({"request_type": "BRANDED_URL_TRACKING"}, "url_id", "branded URL id"),
        ({"request_type": "BRANDED_URL_TRACKING", "url_id": "0"}, "url_id", "greater than"),
        ({"request_type": "BRANDED_URL_TRACKING", "url_id": "1e9"}, "url_id", "whole number"),
        ({"min_number": "5", "max_number": "2"}, "max_number", "less than"),
        ({"deal": "given"}, "deal_id", "Choose the deal"),
        ({"name": "x" * 100_000}, "name", "at most 80"),
    ],
)
def test_a_rule_that_cannot_work_is_refused_with_a_clear_message(
    client, admin, sid, overrides, field, message
):
    client.force_login(admin)

    response = client.post(in_account("/rules/new/"), rule_form(**overrides))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Rule.objects.exists()


def test_a_nul_byte_in_a_rule_is_refused_and_nothing_is_saved(client, admin, sid):
    client.force_login(admin)

    response = client.post(in_account("/rules/new/"), rule_form(name="Trail\x00codes"))

    assert response.status_code == 400
    assert not Rule.objects.exists()


def test_reviewers_read_rules_but_cannot_write_enable_or_stop_them(client, alice, sid):
    rule = make_rule(sid)
    client.force_login(alice)

    assert client.get(in_account("/rules/")).status_code == 200
    assert client.get(in_account(f"/rules/{rule.pk}/")).status_code == 200
    for address in ("/rules/new/", f"/rules/{rule.pk}/enable/", "/rules/stop/"):
        assert client.post(in_account(address), rule_form() | {"version": "1"}).status_code == 403
    rule.refresh_from_db()
    assert not rule.enabled and Rule.objects.count() == 1


def test_another_accounts_rule_is_not_found(client, admin, sid):
    Account.objects.create(sid="OTHER1")
    theirs = make_rule("OTHER1")
    client.force_login(admin)

    assert client.get(in_account(f"/rules/{theirs.pk}/")).status_code == 404
    assert (
        client.post(in_account(f"/rules/{theirs.pk}/enable/"), {"version": "1"}).status_code == 404
    )


def test_the_kill_switch_stops_every_rule_and_every_page_says_so(client, admin, alice, sid):
    client.force_login(admin)

    client.post(in_account("/rules/stop/"))

    assert Account.objects.get(sid=sid).rules_stopped_at is not None
    client.force_login(alice)
    page = client.get(in_account("/")).content.decode()
    assert "Rules are stopped on this account: Stopped by ada." in page
    client.force_login(admin)
    client.post(in_account("/rules/resume/"))
    assert Account.objects.get(sid=sid).rules_stopped_at is None
    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="rules_").order_by("id")
    ] == [
        "rules_stopped",
        "rules_resumed",
    ]


def test_the_request_page_names_the_rule_that_decided_with_a_link(client, alice, fake, sid):
    rule = enable(make_rule(sid, name="Evergreen"))
    row = put(fake, sid)
    rules.run(sid)
    client.force_login(alice)

    page = client.get(in_account(f"/r/{row.impact_id}/")).content.decode()

    assert f'<a href="/a/{sid}/rules/{rule.pk}/">rule “Evergreen” v1</a>' in page


def test_a_suggestion_is_shown_and_one_press_confirms_it_as_the_reviewers_decision(
    client, alice, fake, sid
):
    rule = enable(make_rule(sid, name="Suggest Trail", mode=Rule.Mode.SUGGEST))
    row = put(fake, sid, **code("TRAIL7"))
    client.force_login(alice)

    page = client.get(in_account(f"/r/{row.impact_id}/")).content.decode()
    assert "suggests: <strong>approve</strong> <code>TRAIL7</code>" in page
    assert "data-accept-suggestion" in page

    response = client.post(
        in_account(f"/r/{row.impact_id}/approve/"),
        {
            "promo_code": "TRAIL7",
            "credit_policy": "INVOLVED",
            "match_mode": "LI",
            "suggested_by": f"{rule.pk}:1",
        },
    )

    assert response.status_code == 302
    decision = Decision.objects.get(request=row)
    assert (decision.decided_by, decision.rule, decision.suggested_by) == (alice, None, rule)
    event = AuditEvent.objects.get(action="approve")
    assert (event.actor_name, event.detail["suggested_by_rule"]) == ("alice", rule.pk)
    assert TrackingValueRequest.objects.get(pk=row.pk).state == State.APPROVED


def test_a_suggestion_naming_another_accounts_rule_is_not_recorded(client, alice, fake, sid):
    Account.objects.create(sid="OTHER1")
    theirs = make_rule("OTHER1")
    row = put(fake, sid)
    client.force_login(alice)

    client.post(
        in_account(f"/r/{row.impact_id}/approve/"),
        {
            "promo_code": "TRAIL20",
            "credit_policy": "INVOLVED",
            "match_mode": "LI",
            "suggested_by": f"{theirs.pk}:1",
        },
    )

    assert Decision.objects.get(request=row).suggested_by is None


def test_the_team_page_counts_rule_decisions_apart_from_peoples(client, admin, fake, sid):
    enable(make_rule(sid, name="Evergreen", partner_ids=[2552842]))
    for n in range(2):
        put(fake, sid, **code(f"AUTO{n}"))
    person = put(fake, sid, MediaPartnerId="99")
    rules.run(sid)
    decisions.approve(
        request=person,
        user=admin,
        approval=impact.Approval("PROMOCODE_TRACKING", "MINE", "INVOLVED", "LI"),
    )
    client.force_login(admin)

    page = client.get(in_account("/team/")).content.decode()

    assert "People decided <strong>1</strong> and rules <strong>2</strong>" in page
    assert '>Evergreen</a></td><td class="num">2</td>' in page


def test_a_rule_that_decided_cannot_be_deleted(client, admin, fake, sid):
    rule = enable(make_rule(sid))
    put(fake, sid)
    rules.run(sid)
    client.force_login(admin)

    response = client.post(in_account(f"/rules/{rule.pk}/delete/"), follow=True)

    assert "made or suggested decisions" in response.content.decode()
    assert Rule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize(
    "change",
    [
        {"suggested_by": "{pk}:99"},  # another version
        {"promo_code": "OTHER1"},  # other values than suggested
        {"disable": True},  # a rule that suggests nothing now
    ],
)
def test_only_a_suggestion_that_was_made_is_recorded_as_confirmed(client, alice, fake, sid, change):
    rule = enable(make_rule(sid, name="Suggest", mode=Rule.Mode.SUGGEST))
    if change.get("disable"):
        Rule.objects.filter(pk=rule.pk).update(enabled=False)
        Account.team_changed()
    row = put(fake, sid, **code("TRAIL7"))
    client.force_login(alice)
    posted = {
        "promo_code": change.get("promo_code", "TRAIL7"),
        "credit_policy": "INVOLVED",
        "match_mode": "LI",
        "suggested_by": change.get("suggested_by", "{pk}:1").format(pk=rule.pk),
    }

    client.post(in_account(f"/r/{row.impact_id}/approve/"), posted)

    decision = Decision.objects.get(request=row)
    assert decision.decided_by == alice and decision.suggested_by is None


def test_a_rule_whose_suggestion_was_confirmed_cannot_be_deleted(client, admin, fake, sid):
    rule = enable(make_rule(sid, mode=Rule.Mode.SUGGEST))
    row = put(fake, sid, **code("TRAIL7"))
    client.force_login(admin)
    client.post(
        in_account(f"/r/{row.impact_id}/approve/"),
        {
            "promo_code": "TRAIL7",
            "credit_policy": "INVOLVED",
            "match_mode": "LI",
            "suggested_by": f"{rule.pk}:1",
        },
    )
    assert Decision.objects.get(request=row).suggested_by == rule
    rules.disable(rule, by=admin)

    response = client.post(in_account(f"/rules/{rule.pk}/delete/"), follow=True)

    assert response.status_code == 200
    assert "made or suggested decisions" in response.content.decode()
    assert Rule.objects.filter(pk=rule.pk).exists()


def test_the_form_refuses_a_requested_code_as_a_regular_expression(client, admin, sid):
    client.force_login(admin)

    response = client.post(in_account("/rules/new/"), rule_form(match_mode="RE"))

    assert response.status_code == 400
    assert "never sent as a regular expression" in str(response.context["form"].errors)
