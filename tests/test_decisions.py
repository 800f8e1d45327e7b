"""decisions.py: one decision per request, audited, never re-sent (fake impact.com)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from requests_app import decisions, impact, sync
from requests_app.models import AuditEvent, Decision, State, TrackingValueRequest
from tests.conftest import wire_request
from tests.fakes import FakeImpact

pytestmark = pytest.mark.django_db

PROMO = impact.Approval(
    request_type="PROMOCODE_TRACKING", promo_code="TRAIL20", credit_policy="WINNER", match_mode="LI"
)


@pytest.fixture
def open_request(fake, sandbox_sid) -> TrackingValueRequest:
    payload = wire_request()
    fake.payloads[payload["Id"]] = payload
    return sync.refresh_one(sandbox_sid, payload["Id"])


def sends(fake: FakeImpact) -> list:
    return [c for c in fake.calls if c[0] in ("approve", "reject")]


def test_approve_sends_once_records_the_decision_and_refreshes_the_row(fake, open_request, alice):
    decision = decisions.approve(request=open_request, user=alice, approval=PROMO)

    assert sends(fake) == [
        (
            "approve",
            (
                open_request.impact_id,
                {"PromoCode": "TRAIL20", "CreditPolicy": "WINNER", "MatchMode": "LI"},
            ),
        )
    ]
    assert decision.status == Decision.Status.SENT
    open_request.refresh_from_db()
    assert open_request.state == State.APPROVED
    event = AuditEvent.objects.get(action="approve")
    assert (event.outcome, event.actor_name, event.response_status) == ("success", "alice", 200)
    assert event.sent == {"PromoCode": "TRAIL20", "CreditPolicy": "WINNER", "MatchMode": "LI"}


def test_a_second_approve_is_told_who_decided_and_nothing_is_sent_again(
    fake, open_request, alice, bob
):
    decisions.approve(request=open_request, user=alice, approval=PROMO)

    with pytest.raises(decisions.AlreadyDecided, match="alice already approved"):
        decisions.approve(request=open_request, user=bob, approval=PROMO)

    assert len(sends(fake)) == 1


def test_a_stale_page_submitting_twice_hits_the_one_live_decision(fake, open_request, alice, bob):
    # The cached row still says NEW (as on a page loaded before the first click).
    Decision.objects.create(
        request=open_request, action="approve", status="sending", decided_by=alice
    )

    with pytest.raises(decisions.AlreadyDecided, match="alice already approved"):
        decisions.reject(request=open_request, user=bob)

    assert sends(fake) == []


def test_a_viewer_cannot_decide_and_nothing_is_recorded_or_sent(fake, open_request, viewer):
    with pytest.raises(decisions.NotAllowed):
        decisions.reject(request=open_request, user=viewer)

    assert sends(fake) == []
    assert not Decision.objects.exists()


def test_an_invalid_approval_is_refused_before_anything_is_sent(fake, open_request, alice):
    bad = impact.Approval(request_type="PROMOCODE_TRACKING", promo_code="", credit_policy="WINNER")

    with pytest.raises(decisions.DecisionError, match="PromoCode"):
        decisions.approve(request=open_request, user=alice, approval=bad)

    assert sends(fake) == []
    assert not Decision.objects.exists()


def test_impact_com_refusing_is_shown_verbatim_audited_and_frees_the_request(
    fake, open_request, alice
):
    fake.approve_error = impact.Rejected(
        "Validation Failed",
        status=400,
        errors=(impact.FieldError("PromoCode", "Promo code already in use"),),
    )

    with pytest.raises(decisions.ImpactFailed, match="PromoCode: Promo code already in use"):
        decisions.approve(request=open_request, user=alice, approval=PROMO)

    open_request.refresh_from_db()
    assert open_request.state == State.NEW
    event = AuditEvent.objects.get(action="approve")
    assert event.outcome == "conflict"
    assert event.response_status == 400
    assert "Promo code already in use" in event.response_message
    assert Decision.objects.get().status == Decision.Status.FAILED
    fake.approve_error = None  # the reviewer can retry by hand
    assert decisions.approve(request=open_request, user=alice, approval=PROMO).status == "sent"


def test_a_timeout_during_approve_is_never_resent_and_a_clean_reread_settles_it(
    fake, open_request, alice
):
    fake.approve_error = impact.OutcomeUnknown("impact.com did not answer within 7 seconds.")

    # impact.com still shows the request new: the approve did not land, the slot is free.
    with pytest.raises(decisions.ImpactFailed, match="did not apply the approve"):
        decisions.approve(request=open_request, user=alice, approval=PROMO)

    assert len(sends(fake)) == 1
    open_request.refresh_from_db()
    assert open_request.state == State.NEW
    attempt, settled = AuditEvent.objects.filter(action__startswith="approve").order_by("id")
    assert (attempt.action, attempt.outcome) == ("approve", "unknown")
    assert (settled.action, settled.outcome) == ("approve_settled", "failure")
    assert settled.detail["attempt_event"] == attempt.pk
    assert Decision.objects.get().status == Decision.Status.FAILED


def test_a_request_decided_in_impact_com_itself_is_reported_and_refreshed(
    fake, open_request, alice
):
    fake.payloads[open_request.impact_id]["State"] = "DECLINED"

    with pytest.raises(decisions.ImpactFailed, match="already declined"):
        decisions.approve(request=open_request, user=alice, approval=PROMO)

    open_request.refresh_from_db()
    assert open_request.state == State.DECLINED
    assert AuditEvent.objects.get(action="approve").outcome == "conflict"


def test_reject_keeps_our_reason_with_the_decision_and_the_audit(fake, open_request, alice):
    decisions.reject(request=open_request, user=alice, reason="Duplicate request", note="see #12")

    assert sends(fake) == [("reject", open_request.impact_id)]
    event = AuditEvent.objects.get(action="reject")
    assert event.detail["reason"] == "Duplicate request"
    assert event.detail["note"] == "see #12"
    open_request.refresh_from_db()
    assert open_request.state == State.DECLINED


def test_when_the_refresh_after_a_decision_fails_the_row_still_shows_the_decision(
    fake, open_request, alice, monkeypatch
):
    def unavailable(*args, **kwargs):
        raise impact.Unavailable("down")

    monkeypatch.setattr(fake, "get_request", unavailable)

    decisions.reject(request=open_request, user=alice)

    open_request.refresh_from_db()
    assert open_request.state == State.DECLINED


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_at_the_same_moment_send_exactly_one_call(
    fake, sandbox_sid, alice, bob
):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL; SQLite serialises them anyway")
    payload = wire_request()
    fake.payloads[payload["Id"]] = payload
    row = sync.refresh_one(sandbox_sid, payload["Id"])
    lock = threading.Lock()
    original = fake._decide

    def slow_decide(request_id: str, state: str) -> str:
        with lock:
            return original(request_id, state)

    fake._decide = slow_decide
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def decide(user) -> None:
        from django.db import connections

        try:
            barrier.wait()
            decisions.approve(request=row, user=user, approval=PROMO)
            outcomes.append("sent")
        except decisions.AlreadyDecided:
            outcomes.append("already")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(u,)) for u in [alice, bob] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already"] * 5 + ["sent"]
    assert len(sends(fake)) == 1
    assert Decision.objects.filter(status="sent").count() == 1


def _interrupted(open_request, user, seconds_ago: int = 60) -> Decision:
    """A decision whose sender died mid-call: still `sending`, its lease lapsed."""
    from datetime import timedelta

    from django.utils import timezone

    return Decision.objects.create(
        request=open_request,
        action="approve",
        status="sending",
        decided_by=user,
        sent={"PromoCode": "TRAIL20", "CreditPolicy": "WINNER", "MatchMode": "LI"},
        lease_until=timezone.now() - timedelta(seconds=seconds_ago),
    )


def test_a_decision_interrupted_after_impact_com_accepted_it_is_settled_as_sent(
    fake, open_request, alice
):
    from requests_app import housekeeping

    decision = _interrupted(open_request, alice)
    fake.payloads[open_request.impact_id]["State"] = "APPROVED"

    done = housekeeping.sweep()

    assert (done["decisions_taken_over"], done["decisions_settled"]) == (1, 1)
    decision.refresh_from_db()
    assert decision.status == Decision.Status.SENT
    assert sends(fake) == []  # settled by reading, never by sending again
    outcomes = list(AuditEvent.objects.order_by("id").values_list("action", "outcome"))
    assert outcomes == [("approve", "unknown"), ("approve_settled", "success")]


def test_a_decision_interrupted_before_impact_com_saw_it_frees_the_request(
    fake, open_request, alice, capsys
):
    from django.core.management import call_command

    decision = _interrupted(open_request, alice)

    call_command("send_due_decisions")

    decision.refresh_from_db()
    assert decision.status == Decision.Status.FAILED
    assert "1 interrupted decisions taken over, 1 settled" in capsys.readouterr().out
    assert decisions.reject(request=open_request, user=alice).status == "sent"


def test_a_decision_still_being_sent_is_left_alone(fake, open_request, alice):
    decision = _interrupted(open_request, alice, seconds_ago=-20)  # lease still running

    assert decisions.take_over_lapsed() == 0
    decision.refresh_from_db()
    assert decision.status == Decision.Status.SENDING
