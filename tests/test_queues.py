"""Review queues: claims, hand-overs, comments, queue counts, and the Undo window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from requests_app import decisions, impact, queues, sync
from requests_app.models import AuditEvent, Decision, State
from tests.conftest import wire_request

pytestmark = pytest.mark.django_db

PROMO = impact.Approval(
    request_type="PROMOCODE_TRACKING", promo_code="TRAIL20", credit_policy="WINNER", match_mode="LI"
)


@pytest.fixture
def open_request(fake, sandbox_sid):
    payload = wire_request()
    fake.payloads[payload["Id"]] = payload
    return sync.refresh_one(sandbox_sid, payload["Id"])


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_a_reviewer_claims_and_releases_a_request_and_both_are_audited(open_request, alice):
    queues.claim(request=open_request, user=alice)
    open_request.refresh_from_db()
    assert open_request.assigned_to == alice

    queues.release(request=open_request, user=alice)
    open_request.refresh_from_db()
    assert open_request.assigned_to is None
    assert actions() == ["claim", "release"]


def test_claiming_a_request_someone_else_holds_needs_confirmation_and_is_recorded(
    open_request, alice, bob
):
    queues.claim(request=open_request, user=alice)

    with pytest.raises(queues.HeldByOther, match="alice is working on this request"):
        queues.claim(request=open_request, user=bob)
    queues.claim(request=open_request, user=bob, confirm=True)

    open_request.refresh_from_db()
    assert open_request.assigned_to == bob
    assert AuditEvent.objects.order_by("-id").first().detail == {"took_over_from": "alice"}


def test_a_viewer_cannot_claim_assign_or_comment(open_request, viewer, alice):
    with pytest.raises(queues.QueueError, match="cannot claim"):
        queues.claim(request=open_request, user=viewer)
    with pytest.raises(queues.QueueError, match="cannot assign"):
        queues.assign(request=open_request, to=alice, user=viewer)
    with pytest.raises(queues.QueueError, match="cannot comment"):
        queues.comment(request=open_request, user=viewer, body="hi")
    assert actions() == []


def test_a_request_can_be_assigned_to_a_reviewer_but_not_to_a_viewer(
    open_request, alice, bob, viewer
):
    queues.assign(request=open_request, to=bob, user=alice)
    open_request.refresh_from_db()
    assert open_request.assigned_to == bob

    with pytest.raises(queues.QueueError, match="That person cannot review"):
        queues.assign(request=open_request, to=viewer, user=alice, confirm=True)


def test_a_decided_request_cannot_be_claimed(open_request, alice):
    decisions.reject(request=open_request, user=alice)

    with pytest.raises(queues.QueueError, match="already decided"):
        queues.claim(request=open_request, user=alice)


def test_comments_are_kept_and_audited_and_empty_ones_refused(open_request, alice):
    note = queues.comment(request=open_request, user=alice, body="  Partner asked twice.  ")

    assert note.body == "Partner asked twice."
    assert actions() == ["comment"]
    with pytest.raises(queues.QueueError, match="needs some text"):
        queues.comment(request=open_request, user=alice, body="   ")


def test_queue_counts_cover_mine_unassigned_overdue_due_soon_and_all_open(
    make_request, alice, bob, sandbox_sid
):
    now = timezone.now()
    mine = make_request(DateNeeded=(now + timedelta(days=20)).isoformat())
    make_request(DateNeeded=(now - timedelta(days=1)).isoformat())
    make_request(DateNeeded=(now + timedelta(hours=12)).isoformat())
    theirs = make_request(DateNeeded=(now + timedelta(days=20)).isoformat())
    make_request(State="APPROVED", DateNeeded=(now - timedelta(days=3)).isoformat())
    queues.claim(request=mine, user=alice)
    queues.claim(request=theirs, user=bob)

    counts = queues.queue_counts(sandbox_sid, alice)

    assert counts == {"mine": 1, "unassigned": 2, "overdue": 1, "due_soon": 1, "open": 4}


def test_reviewers_share_the_cached_queue_counts_and_each_has_their_own_mine(
    make_request, alice, bob, sandbox_sid, django_assert_num_queries
):
    from requests_app.models import Account

    mine, bobs, bobs_too = make_request(), make_request(), make_request()
    make_request()
    queues.claim(request=mine, user=alice)
    queues.claim(request=bobs, user=bob)
    queues.claim(request=bobs_too, user=bob)
    account = Account.objects.get(sid=sandbox_sid)  # as the pages read it, after the claims

    with django_assert_num_queries(1):  # every queue, alice's own counted with the rest
        alices = queues.queue_counts(sandbox_sid, alice, account)
    with django_assert_num_queries(1) as bobs_queries:  # only bob's own: the rest is shared
        bobs_counts = queues.queue_counts(sandbox_sid, bob, account)
    with django_assert_num_queries(0):
        assert queues.queue_counts(sandbox_sid, alice, account) == alices

    sql = bobs_queries.captured_queries[0]["sql"]
    assert '"mine"' in sql and '"unassigned"' not in sql and '"open"' not in sql
    assert (alices["mine"], bobs_counts["mine"]) == (1, 2)
    assert {**alices, "mine": 2} == bobs_counts
    assert (alices["unassigned"], alices["open"]) == (1, 4)


def test_a_claim_moves_mine_at_once_though_the_shared_counts_were_cached(
    make_request, alice, bob, sandbox_sid
):
    from requests_app.models import Account

    first = make_request()
    before = queues.queue_counts(sandbox_sid, alice, Account.objects.get(sid=sandbox_sid))
    queues.claim(request=first, user=alice)

    after = queues.queue_counts(sandbox_sid, alice, Account.objects.get(sid=sandbox_sid))
    bobs = queues.queue_counts(sandbox_sid, bob, Account.objects.get(sid=sandbox_sid))

    assert (before["mine"], before["unassigned"]) == (0, 1)
    assert (after["mine"], after["unassigned"]) == (1, 0)
    assert (bobs["mine"], bobs["unassigned"]) == (0, 0)


def test_acting_on_a_request_held_by_someone_else_asks_for_confirmation(
    fake, open_request, alice, bob
):
    queues.claim(request=open_request, user=alice)

    with pytest.raises(queues.HeldByOther):
        decisions.reject(request=open_request, user=bob)
    decisions.reject(request=open_request, user=bob, confirm=True)

    event = AuditEvent.objects.get(action="reject")
    assert event.detail["held_by"] == "alice"


class TestUndoWindow:
    @pytest.fixture(autouse=True)
    def delay(self, settings):
        settings.TVR_DECISION_DELAY_SECONDS = 10

    def test_a_decision_waits_in_the_queue_and_nothing_is_sent_yet(self, fake, open_request, alice):
        decision = decisions.approve(request=open_request, user=alice, approval=PROMO)

        assert decision.status == Decision.Status.QUEUED
        assert decision.send_after > timezone.now() + timedelta(seconds=8)
        assert [c for c in fake.calls if c[0] == "approve"] == []
        assert actions() == ["approve_queued"]

    def test_undo_takes_it_back_and_the_worker_then_sends_nothing(self, fake, open_request, alice):
        decision = decisions.approve(request=open_request, user=alice, approval=PROMO)

        assert decisions.undo(decision=decision, user=alice) is True
        Decision.objects.filter(pk=decision.pk).update(send_after=timezone.now())
        assert decisions.send_queued(decision.pk) is None

        assert [c for c in fake.calls if c[0] == "approve"] == []
        assert actions() == ["approve_queued", "approve_undone"]
        open_request.refresh_from_db()
        assert open_request.state == State.NEW
        # The slot is free again: the reviewer can decide afresh.
        assert decisions.reject(request=open_request, user=alice).status == "queued"

    def test_the_worker_sends_once_it_is_due_and_undo_is_then_too_late(
        self, fake, open_request, alice
    ):
        decision = decisions.approve(request=open_request, user=alice, approval=PROMO)
        Decision.objects.filter(pk=decision.pk).update(send_after=timezone.now())

        assert decisions.send_due() == 1

        decision.refresh_from_db()
        assert decision.status == Decision.Status.SENT
        assert decisions.undo(decision=decision, user=alice) is False
        assert len([c for c in fake.calls if c[0] == "approve"]) == 1
        assert actions() == ["approve_queued", "approve"]

    def test_only_the_decider_or_an_admin_can_undo(self, fake, open_request, alice, bob, admin):
        decision = decisions.approve(request=open_request, user=alice, approval=PROMO)

        with pytest.raises(decisions.NotAllowed):
            decisions.undo(decision=decision, user=bob)
        assert decisions.undo(decision=decision, user=admin) is True

    def test_a_queued_decision_that_fails_is_recorded_for_the_reviewer(
        self, fake, open_request, alice
    ):
        fake.approve_error = impact.Rejected("Promo code already in use", status=400)
        decision = decisions.approve(request=open_request, user=alice, approval=PROMO)
        Decision.objects.filter(pk=decision.pk).update(send_after=timezone.now())

        result = decisions.send_queued(decision.pk)

        assert result is not None and result.status == Decision.Status.FAILED
        assert result.response_message == "Promo code already in use"
