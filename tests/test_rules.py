"""rules.py: rules proved on history (the dry run) decide exactly what it said, through the same
path as people, and stop when told or when impact.com keeps refusing them."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from requests_app import decisions, impact, queues, rules, sync
from requests_app.models import (
    Account,
    AuditEvent,
    Decision,
    Rule,
    State,
    TrackingValueRequest,
)
from tests.conftest import wire_request
from tests.fakes import FakeImpact

pytestmark = pytest.mark.django_db

TOP_PARTNER = 2552842
OTHER_PARTNER = 777


def put(fake: FakeImpact, sid: str, **overrides: Any) -> TrackingValueRequest:
    """A request impact.com (the fake) holds and the cache has synced."""
    payload = wire_request(**overrides)
    fake.payloads[payload["Id"]] = payload
    sync.store(sid, [impact.TrackingValueRequest.parse(payload)], fetched_at=timezone.now())
    return TrackingValueRequest.objects.get(account_sid=sid, impact_id=payload["Id"])


def decided(code: str, state: str = "APPROVED", days_ago: int = 3, **overrides: Any):
    """The overrides of a request decided `days_ago` days ago with `code` approved."""
    when = (timezone.now() - timedelta(days=days_ago)).isoformat()
    return {
        "State": state,
        "DateCompleted": when,
        "DatePlaced": when,
        "PromoCodes": [
            {
                "Id": "1",
                "RequestedPromoCode": code,
                "ApprovedPromoCode": code if state != "DECLINED" else "",
                "CreditPolicy": "",
                "MatchMode": "",
            }
        ],
        **overrides,
    }


def code(requested: str) -> dict[str, Any]:
    return {
        "PromoCodes": [
            {
                "Id": "1",
                "RequestedPromoCode": requested,
                "ApprovedPromoCode": "",
                "CreditPolicy": "",
                "MatchMode": "",
            }
        ]
    }


def make_rule(sid: str, **fields: Any) -> Rule:
    defaults = {
        "name": f"Rule {Rule.objects.count() + 1}",
        "action": Rule.Action.APPROVE,
        "mode": Rule.Mode.DECIDE,
        "request_type": "PROMOCODE_TRACKING",
        "code_source": Rule.CodeSource.REQUESTED,
        "credit_policy": "INVOLVED",
        "match_mode": "LI",
        "position": Rule.objects.count() + 1,
    }
    return Rule.objects.create(account_sid=sid, **(defaults | fields))


def enable(rule: Rule) -> Rule:
    rule.enabled = True
    rule.save(update_fields=["enabled"])
    return rule


def sends(fake: FakeImpact) -> list:
    return [c for c in fake.calls if c[0] in ("approve", "reject")]


@pytest.fixture
def sid(sandbox_sid) -> str:
    Account.objects.get_or_create(sid=sandbox_sid)
    return sandbox_sid


def test_what_the_dry_run_says_is_exactly_what_enabling_does(fake, sid, alice):
    top = make_rule(sid, name="Top partners get their code", partner_ids=[TOP_PARTNER])
    phones = make_rule(
        sid,
        name="No phone numbers",
        action=Rule.Action.REJECT,
        request_type="PHONE_NUMBER_TRACKING",
        reason="No call tracking",
    )
    enable(phones)
    for n in range(3):
        put(fake, sid, **code(f"TRAIL{n}"))
    held = put(fake, sid, **code("HELD1"))
    queues.claim(request=held, user=alice)
    put(fake, sid, **code("OTHER1"), MediaPartnerId=str(OTHER_PARTNER))  # not a top partner
    for _ in range(2):
        put(fake, sid, RequestType="PHONE_NUMBER_TRACKING", PromoCodes=[])
    put(fake, sid, **decided("OLD1"))  # history, not open

    said = rules.dry_run(top)

    assert (said.now["approve"], said.now["reject"]) == (3, 0)
    assert said.now_left == {rules.HELD: 1}
    assert said.matched == 5  # four open of the top partner and one in history
    enable(top)
    done = rules.run(sid)

    assert done.decided == {"approve": 3, "reject": 2}
    by_top = Decision.objects.filter(rule=top, status=Decision.Status.SENT)
    assert by_top.count() == said.now_acts
    assert not Decision.objects.filter(request=held).exists()
    assert {c[1][1]["PromoCode"] for c in sends(fake) if c[0] == "approve"} == {
        "TRAIL0",
        "TRAIL1",
        "TRAIL2",
    }


def test_the_first_rule_that_matches_wins(fake, sid):
    first = enable(make_rule(sid, name="Reject everything of Trail", action="reject"))
    second = enable(make_rule(sid, name="Approve Trail"))
    row = put(fake, sid)

    rules.run(sid)

    decision = Decision.objects.get(request=row)
    assert (decision.rule, decision.action) == (first, "reject")
    assert not second.decisions.exists()


def test_a_rule_never_decides_a_held_request_or_one_with_a_live_decision(fake, sid, alice, bob):
    enable(make_rule(sid))
    held = put(fake, sid)
    queues.claim(request=held, user=alice)
    queued = put(fake, sid)
    person = decisions.reject(request=queued, user=bob)

    assert rules.run(sid).total == 0
    assert sends(fake) == [("reject", queued.impact_id)]
    assert list(Decision.objects.filter(rule__isnull=False)) == []
    assert person.status == Decision.Status.SENT


def test_a_request_claimed_between_the_plan_and_the_claim_is_left_alone(
    fake, sid, alice, monkeypatch
):
    rule = enable(make_rule(sid))
    row = put(fake, sid)
    planned = rules.plan(sid, [rule])
    queues.claim(request=row, user=alice)  # after the plan, before the rule's claim

    monkeypatch.setattr(rules, "plan", lambda *a, **k: planned)
    done = rules.run(sid)

    assert done.total == 0 and done.skipped == {"decided or held meanwhile": 1}
    assert sends(fake) == []


def test_every_automatic_decision_is_audited_with_its_rule_and_version(fake, sid):
    rule = make_rule(sid, name="Evergreen")
    rule.version = 4
    rule.save()
    enable(rule)
    row = put(fake, sid)

    rules.run(sid)

    event = AuditEvent.objects.get(action="approve")
    assert event.actor is None
    assert event.actor_name == "rule “Evergreen” v4"
    assert (event.detail["rule"], event.detail["rule_version"]) == (rule.pk, 4)
    assert event.request_impact_id == row.impact_id
    decision = Decision.objects.get(request=row)
    assert (decision.decided_by, decision.rule_version, decision.decider) == (
        None,
        4,
        "rule “Evergreen” v4",
    )


def test_a_quota_counts_earlier_approvals_and_falls_through_to_the_next_rule(fake, sid):
    capped = enable(make_rule(sid, name="Two a month", quota=2, quota_period="month"))
    fallback = enable(make_rule(sid, name="Then reject", action="reject"))
    put(fake, sid, **decided("EARLIER", days_ago=5))  # one approval this month already
    rows = [put(fake, sid, **code(f"NEW{n}")) for n in range(3)]

    said = rules.dry_run(capped)
    rules.run(sid)

    assert said.now["approve"] == 1
    outcomes = [Decision.objects.get(request=row).rule for row in rows]
    assert outcomes.count(capped) == 1 and outcomes.count(fallback) == 2


@pytest.mark.django_db(transaction=True)
def test_quotas_hold_when_two_syncs_run_the_rules_at_once(fake, sandbox_sid):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL; SQLite serialises them anyway")
    Account.objects.get_or_create(sid=sandbox_sid)
    enable(make_rule(sandbox_sid, quota=3, quota_period="week"))
    for n in range(8):
        put(fake, sandbox_sid, **code(f"MANY{n}"))
    barrier = threading.Barrier(2)
    planned = {}

    def plan_then_wait(*args: Any, **kwargs: Any) -> rules.Plan:
        # Both runs plan before either claims: each plan alone would approve three.
        found = original(*args, **kwargs)
        planned[threading.get_ident()] = len([s for s in found.steps if s.acts])
        barrier.wait()
        return found

    original = rules.plan
    rules.plan = plan_then_wait
    try:

        def run_once() -> None:
            try:
                rules.run(sandbox_sid)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run_once) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        rules.plan = original

    assert sorted(planned.values()) == [3, 3]
    assert Decision.objects.filter(rule__isnull=False, action="approve").count() == 3


def test_a_streak_of_refusals_pauses_every_rule_and_tells_the_admins(fake, sid, admin, settings):
    settings.TVR_RULES_REFUSAL_STREAK = 3
    enable(make_rule(sid))
    for n in range(5):
        put(fake, sid, **code(f"REFUSED{n}"))
    fake.approve_error = impact.Rejected("Validation Failed: PromoCode invalid", status=400)

    done = rules.run(sid)

    assert len(sends(fake)) == 3  # the streak stops the batch
    assert done.stopped == rules.STOPPED
    account = Account.objects.get(sid=sid)
    assert account.rules_stopped_at is not None
    assert "refused 3 rule decisions in a row" in account.rules_stopped_why
    assert AuditEvent.objects.filter(action="rules_stopped").count() == 1
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert "paused" in mail.outbox[0].subject
    # Paused rules do nothing at the next sync either, until an admin resumes them.
    assert rules.run(sid).total == 0
    assert len(sends(fake)) == 3


def test_a_success_ends_the_refusal_streak(fake, sid, settings):
    settings.TVR_RULES_REFUSAL_STREAK = 2
    enable(make_rule(sid))
    for n in range(3):
        put(fake, sid, **code(f"S{n}"))
    calls = iter([impact.Rejected("no", status=400), None, impact.Rejected("no", status=400)])
    original = fake._decide

    def sometimes_refuse(request_id: str, state: str) -> impact.WriteResult:
        error = next(calls)
        if error:
            raise error
        return original(request_id, state)

    fake._decide = sometimes_refuse
    rules.run(sid)

    account = Account.objects.get(sid=sid)
    assert account.rules_stopped_at is None and account.rule_refusals == 1


def test_a_refused_request_is_not_tried_again_by_a_rule(fake, sid):
    enable(make_rule(sid))
    row = put(fake, sid)
    fake.approve_error = impact.Rejected("Code already assigned", status=400)
    rules.run(sid)
    fake.approve_error = None

    assert rules.run(sid).total == 0
    assert len(sends(fake)) == 1
    assert rules.plan(sid, rules.enabled_rules(sid)).steps[0].left == rules.TRIED
    assert TrackingValueRequest.objects.get(pk=row.pk).state == State.NEW


def test_the_kill_switch_stops_a_rule_mid_batch(fake, sid, admin):
    enable(make_rule(sid))
    for n in range(4):
        put(fake, sid, **code(f"KILL{n}"))
    original = fake._decide

    def decide_then_stop(request_id: str, state: str) -> impact.WriteResult:
        answer = original(request_id, state)
        rules.stop(sid, by=admin)  # an admin presses Stop while the batch runs
        return answer

    fake._decide = decide_then_stop
    done = rules.run(sid)

    assert len(sends(fake)) == 1
    assert done.stopped == rules.STOPPED
    event = AuditEvent.objects.get(action="rules_stopped")
    assert (event.actor_name, event.response_message) == ("ada", "Stopped by ada.")


def test_stopping_takes_back_rule_decisions_still_in_the_undo_window(fake, sid, admin, settings):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    enable(make_rule(sid))
    row = put(fake, sid)
    rules.run(sid)
    decision = Decision.objects.get(request=row)
    assert decision.status == Decision.Status.QUEUED

    rules.stop(sid, by=admin)

    decision.refresh_from_db()
    assert decision.status == Decision.Status.UNDONE
    assert decisions.send_queued(decision.pk) is None
    assert sends(fake) == []


def test_rules_keep_the_rest_of_the_hourly_budget_for_people(fake, sid, settings):
    settings.TVR_RULES_BUDGET_FLOOR = 0.3
    enable(make_rule(sid))
    put(fake, sid)
    Account.objects.filter(sid=sid).update(rate_limit=1000, rate_remaining=200)

    done = rules.run(sid)

    assert done.total == 0 and "budget" in done.stopped
    assert sends(fake) == []


def test_a_rule_that_changed_after_the_plan_does_not_act(fake, sid, monkeypatch):
    rule = enable(make_rule(sid))
    put(fake, sid)
    planned = rules.plan(sid, [rule])
    Rule.objects.filter(pk=rule.pk).update(version=2)  # edited and enabled again meanwhile

    monkeypatch.setattr(rules, "plan", lambda *a, **k: planned)
    done = rules.run(sid)

    assert done.skipped == {rules.CHANGED: 1}
    assert sends(fake) == []


def test_the_dry_run_lists_every_disagreement_with_what_people_decided(fake, sid):
    rule = make_rule(sid, name="Approve Trail codes", code_pattern="TRAIL[0-9]+")
    put(fake, sid, **decided("TRAIL1"))  # approved as the rule would
    declined = put(fake, sid, **decided("TRAIL2", state="DECLINED"))
    other = put(fake, sid, **decided("TRAIL3"))
    TrackingValueRequest.objects.filter(pk=other.pk).update(approved_value="SUMMER5")
    put(fake, sid, **decided("WINTER9", state="DECLINED"))  # the pattern does not match

    said = rules.dry_run(rule)

    assert said.matched == 3
    assert {(d.facts.impact_id, d.rule_says, d.person_did) for d in said.disagreements} == {
        (declined.impact_id, "approve", "rejected"),
        (other.impact_id, "approve TRAIL3", "approved SUMMER5"),
    }


def test_conditions_on_deal_partner_group_number_and_type(fake, sid):
    deal = {
        "DealId": "88",
        "DealName": "Evergreen",
        "DealState": "ACTIVE",
        "DealType": "GENERAL_SALE",
        "DealDefaultPromoCode": "EVERGREEN10",
        "DealRestrictedMediaPartnerGroups": ["Content Creators"],
    }
    rule = make_rule(
        sid,
        deal=Rule.Deal.GIVEN,
        deal_id=88,
        deal_state="ACTIVE",
        partner_group="content creators",
        max_number=2,
        code_source=Rule.CodeSource.DEAL_DEFAULT,
    )
    match = put(fake, sid, **deal, NumberRequested="2")
    put(fake, sid, **deal, NumberRequested="5")  # too many
    put(fake, sid, **(deal | {"DealRestrictedMediaPartnerGroups": ["Coupon sites"]}))
    put(fake, sid)  # no deal
    put(fake, sid, **deal, RequestType="BRANDED_URL_TRACKING", PromoCodes=[])

    steps = rules.plan(sid, [rule]).steps

    assert [(s.facts.impact_id, s.outcome) for s in steps] == [(match.impact_id, "approve")]
    assert steps[0].approval.promo_code == "EVERGREEN10"
    assert (steps[0].approval.deal_id, steps[0].approval.deal_name) == (88, "Evergreen")


def test_an_expired_deal_is_not_sent_with_the_approval(fake, sid):
    rule = make_rule(sid)
    past = (timezone.now() - timedelta(days=1)).isoformat()
    put(fake, sid, DealId="9", DealName="Old", DealEndDate=past, DealState="ACTIVE")

    step = rules.plan(sid, [rule]).steps[0]

    assert (step.approval.deal_id, step.approval.deal_name) == (None, "")


def test_a_code_another_partner_holds_is_left_to_a_person(fake, sid):
    rule = make_rule(sid)
    put(fake, sid, **decided("SHARED", MediaPartnerId=str(OTHER_PARTNER)))
    put(fake, sid, **code("shared"))

    assert [s.left for s in rules.plan(sid, [rule]).steps] == [rules.CODE_TAKEN]


def test_a_pattern_that_runs_out_of_time_matches_nothing(fake, sid, monkeypatch):
    rule = make_rule(sid, code_pattern="TRAIL[0-9]+")
    put(fake, sid, **code("TRAIL20"))
    assert len(rules.plan(sid, [rule]).steps) == 1  # it matches in time

    monkeypatch.setattr(rules, "MATCH_SECONDS", 0)  # no time at all: every match runs out

    assert rules.plan(sid, [rule]).steps == []


def test_a_suggesting_rule_decides_nothing_but_wins_its_requests(fake, sid):
    enable(make_rule(sid, name="Suggest", mode=Rule.Mode.SUGGEST))
    enable(make_rule(sid, name="Reject all", action="reject"))
    row = put(fake, sid)

    assert rules.run(sid).total == 0
    suggestion = rules.suggestion_for(row, rules.enabled_rules(sid))
    assert (suggestion.rule.name, suggestion.action) == ("Suggest", "approve")
    assert suggestion.approval.promo_code == "TRAIL20"


def test_rules_run_after_each_sync_of_their_account(fake, sid):
    enable(make_rule(sid))
    payload = wire_request()
    fake.payloads[payload["Id"]] = payload

    run = sync.run_sync(sid, client=fake)
    done = rules.after_sync(run)

    assert done.total == 1
    assert TrackingValueRequest.objects.get(impact_id=payload["Id"]).state == State.APPROVED


def test_a_failed_sync_runs_no_rules(fake, sid):
    enable(make_rule(sid))
    put(fake, sid)
    failing = FakeImpact(fail_on_page=1)

    run = sync.run_sync(sid, client=failing)

    assert rules.after_sync(run) is None
    assert sends(fake) == []


def test_a_rule_without_conditions_still_sees_requests_another_rule_does_not(fake, sid):
    phones = make_rule(sid, name="Phones", action="reject", request_type="PHONE_NUMBER_TRACKING")
    everything = make_rule(sid, name="Everything else", action="reject", request_type="")
    promo = put(fake, sid)

    steps = rules.plan(sid, [phones, everything]).steps

    assert [(s.facts.impact_id, s.rule.name) for s in steps] == [
        (promo.impact_id, "Everything else")
    ]


def test_two_quota_rules_share_one_count_of_a_partners_approvals(fake, sid):
    first = enable(make_rule(sid, name="Campaign A, one a week", quota=1, quota_period="week"))
    second = enable(make_rule(sid, name="Then one more a month", quota=2, quota_period="month"))
    rows = [put(fake, sid, **code(f"Q{n}")) for n in range(4)]

    planned = rules.plan(sid, [first, second])
    rules.run(sid)

    assert [s.rule.name for s in planned.steps] == [first.name, second.name]
    made = Decision.objects.filter(request__in=rows, rule__isnull=False)
    assert made.count() == 2


# --- from the review of the first version -------------------------------------------------


def test_a_partners_requested_code_is_never_sent_as_a_regular_expression(fake, sid):
    rule = make_rule(sid, match_mode="RE")  # saved before the form refused this
    put(fake, sid, **code(".*"))

    assert [s.left for s in rules.plan(sid, [rule]).steps] == [rules.NO_CODE]


def test_a_deal_code_expression_matching_another_partners_code_is_left_to_a_person(fake, sid):
    rule = make_rule(sid, match_mode="RE", code_source=Rule.CodeSource.DEAL_DEFAULT)
    put(fake, sid, **decided("SUMMER10", MediaPartnerId=str(OTHER_PARTNER)))
    put(fake, sid, DealId="5", DealName="Summer", DealDefaultPromoCode="SUMMER[0-9]+")

    assert [s.left for s in rules.plan(sid, [rule]).steps] == [rules.CODE_TAKEN]


def test_a_rule_decision_someone_took_back_is_not_made_again(fake, sid, alice, settings):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    enable(make_rule(sid))
    row = put(fake, sid)
    rules.run(sid)
    assert decisions.undo(decision=Decision.objects.get(request=row), user=alice)

    assert rules.run(sid).total == 0
    assert rules.plan(sid, rules.enabled_rules(sid)).steps[0].left == rules.UNDONE
    assert Decision.objects.filter(request=row).count() == 1


def test_one_code_asked_for_by_two_partners_is_planned_for_the_first_only(fake, sid):
    rule = enable(make_rule(sid))
    first = put(fake, sid, **code("SUMMER"))
    put(fake, sid, **code("summer"), MediaPartnerId=str(OTHER_PARTNER))

    said = rules.dry_run(rule)
    done = rules.run(sid)

    assert said.now_acts == done.total == 1
    assert said.now_left == {rules.CODE_TAKEN: 1}
    assert Decision.objects.get(rule=rule).request == first


def test_turning_a_rule_off_takes_back_its_queued_decisions(fake, sid, admin, settings):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    rule = enable(make_rule(sid))
    row = put(fake, sid)
    rules.run(sid)

    rules.disable(rule, by=admin)

    decision = Decision.objects.get(request=row)
    assert decision.status == Decision.Status.UNDONE
    assert decisions.send_queued(decision.pk) is None
    assert sends(fake) == []


def test_a_queued_rule_decision_is_not_sent_once_its_rule_changed(fake, sid, settings):
    settings.TVR_DECISION_DELAY_SECONDS = 30
    rule = enable(make_rule(sid))
    row = put(fake, sid)
    rules.run(sid)
    Rule.objects.filter(pk=rule.pk).update(version=2)  # changed without the take-back
    decision = Decision.objects.get(request=row)
    Decision.objects.filter(pk=decision.pk).update(send_after=timezone.now())

    assert decisions.send_queued(decision.pk) is None
    decision.refresh_from_db()
    assert decision.status == Decision.Status.UNDONE
    assert sends(fake) == []


def test_at_least_n_requested_never_matches_a_request_without_a_number(fake, sid):
    needs_one = make_rule(sid, min_number=0)
    everything = make_rule(sid, name="Everything", action="reject", request_type="")
    put(fake, sid, NumberRequested="")

    steps = rules.plan(sid, [needs_one, everything]).steps

    assert [s.rule.name for s in steps] == ["Everything"]


def test_stopped_rules_suggest_nothing(fake, sid, admin):
    enable(make_rule(sid, mode=Rule.Mode.SUGGEST))
    row = put(fake, sid)
    rules.stop(sid, by=admin)

    account = Account.objects.get(sid=sid)
    assert rules.suggestion_for(row, rules.cached_enabled(account)) is None
