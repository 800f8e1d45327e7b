"""tracking_values.py: the account's URLs, numbers and codes cached on a slow schedule within
the budget, the company naming the account, and the promo-code checks against every code."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from requests_app import impact, patterns, sync, tracking_values
from requests_app.models import Account, AuditEvent, TrackingValue
from requests_app.sandbox import seed, values
from tests.conftest import wire_request
from tests.fakes import FakeImpact

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(sandbox_sid):
    seed.seed(sandbox_sid, count=80, seed=3, today=date(2026, 11, 24))
    return sandbox_sid


def test_a_refresh_names_the_account_and_caches_every_kind_from_the_sandbox(seeded):
    result = tracking_values.refresh(seeded)
    assert result.error == ""
    assert Account.objects.get(sid=seeded).name == "Acme Outdoor Co. (sandbox)"
    assert result.counts["url"] >= len(values.URL_POOL)
    assert result.counts["phone"] >= len(values.PHONE_POOL)
    assert TrackingValue.objects.filter(kind="code", value="FALL[0-9]{2}", match_mode="RE").exists()
    assert Account.objects.get(sid=seeded).tracking_values_synced_at is not None


def test_it_is_not_read_again_until_due_nor_while_the_budget_is_low(seeded, settings):
    assert tracking_values.refresh(seeded) is not None
    assert tracking_values.refresh(seeded) is None  # read today already
    Account.objects.filter(sid=seeded).update(
        tracking_values_synced_at=timezone.now() - timedelta(hours=25),
        rate_limit=1000,
        rate_remaining=50,
        rate_reset_at=timezone.now() + timedelta(minutes=30),
    )
    assert tracking_values.refresh(seeded) is None  # due, but 5% of the hour is left
    assert tracking_values.refresh(seeded, force=True) is not None


def test_a_full_sync_reads_them_once_a_day_and_an_open_sync_never(seeded):
    from requests_app import tasks

    tasks.run_sync_task.call(sync.begin(seeded, "open").pk)
    assert not TrackingValue.objects.exists()
    tasks.run_sync_task.call(sync.begin(seeded, "full").pk)
    synced = Account.objects.get(sid=seeded).tracking_values_synced_at
    assert synced is not None and TrackingValue.objects.exists()
    tasks.run_sync_task.call(sync.begin(seeded, "full").pk)
    assert Account.objects.get(sid=seeded).tracking_values_synced_at == synced


def test_the_sync_command_reads_them_too_and_says_when_it_could_not(seeded, monkeypatch, capsys):
    from django.core.management import call_command

    call_command("sync_requests", "--quiet")
    assert TrackingValue.objects.filter(kind="phone").exists()
    Account.objects.filter(sid=seeded).update(tracking_values_synced_at=None)

    def unavailable(self, **_):
        raise impact.Unavailable("impact.com could not be reached.")

    monkeypatch.setattr(impact.ImpactClient, "company_information", unavailable)
    call_command("sync_requests", "--quiet")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "were not read: impact.com could not be reached." in captured.err


def test_a_value_impact_com_stopped_listing_is_marked_gone_not_deleted(sandbox_sid):
    fake = FakeImpact([])
    fake.tracking_values = {"url": [{"Id": "1", "Url": "a"}, {"Id": "2", "Url": "b"}]}
    tracking_values.refresh(sandbox_sid, client=fake, force=True)
    fake.tracking_values = {"url": [{"Id": "2", "Url": "b"}]}
    result = tracking_values.refresh(sandbox_sid, client=fake, force=True)
    assert result.gone == 1
    assert dict(TrackingValue.objects.values_list("impact_id", "is_gone")) == {
        "1": True,
        "2": False,
    }


class Failing(FakeImpact):
    def list_tracking_values(self, kind):
        yield from super().list_tracking_values(kind)
        raise impact.Unavailable("impact.com did not answer within 30 seconds.")


def test_a_failed_read_keeps_what_was_cached_and_says_why(sandbox_sid):
    fake = FakeImpact([])
    fake.tracking_values = {"url": [{"Id": "1", "Url": "a"}]}
    tracking_values.refresh(sandbox_sid, client=fake, force=True)
    failing = Failing([])
    result = tracking_values.refresh(sandbox_sid, client=failing, force=True)
    assert "did not answer" in result.error
    assert TrackingValue.objects.get(impact_id="1").is_gone is False


def test_wrong_credentials_are_reported_not_raised(sandbox_sid, settings):
    settings.IMPACT_SANDBOX_AUTH_TOKEN = "sandbox-token"
    client = impact.get_client(sandbox_sid)
    client.session.auth = (sandbox_sid, "wrong-token")
    result = tracking_values.refresh(sandbox_sid, client=client, force=True)
    assert "Authentication failed" in result.error
    assert "wrong-token" not in result.error


def _codes(sid, *rows):
    fake = FakeImpact([])
    fake.tracking_values = {
        "code": [
            {"Id": str(i + 1), "Code": c, "Type": t, "AssignedPartnerId": str(p),
             "AssignedPartnerName": f"Partner {p}", "State": s}
            for i, (c, t, p, s) in enumerate(rows)
        ]
    }  # fmt: skip
    tracking_values.refresh(sid, client=fake, force=True)


def test_a_literal_code_is_checked_against_every_code_of_the_account(sandbox_sid):
    _codes(sandbox_sid, ("SUMMER25", "LI", 10, "ACTIVE"), ("SUMMER25", "LI", 77, "ACTIVE"))
    held = tracking_values.codes_held_elsewhere(
        sandbox_sid, 77, "summer25", "LI", deadline=patterns.Deadline(1)
    )
    assert [(h.code, h.partner_name) for h in held] == [("SUMMER25", "Partner 10")]


def test_an_expression_lists_every_code_of_other_partners_it_would_match(sandbox_sid):
    _codes(
        sandbox_sid,
        ("FALL24", "LI", 10, "ACTIVE"),
        ("FALL25", "LI", 11, "ACTIVE"),
        ("FALL2025", "LI", 12, "ACTIVE"),  # not whole-matched
        ("FALL26", "LI", 77, "ACTIVE"),  # the requester's own
        ("FALL27", "LI", 13, "INACTIVE"),
    )
    held = tracking_values.codes_held_elsewhere(
        sandbox_sid, 77, "FALL[0-9]{2}", "RE", deadline=patterns.Deadline(1)
    )
    assert [h.code for h in held] == ["FALL24", "FALL25"]


def test_a_catastrophic_expression_is_stopped_by_the_deadline(sandbox_sid):
    _codes(sandbox_sid, ("a" * 40 + "!", "LI", 10, "ACTIVE"))
    with pytest.raises(patterns.TooSlow):
        tracking_values.codes_held_elsewhere(
            sandbox_sid, 77, "(a|aa)+", "RE", deadline=patterns.Deadline(0.05)
        )


def test_choices_put_available_values_first_and_search_words(sandbox_sid):
    fake = FakeImpact([])
    fake.tracking_values = {
        "url": [
            {"Id": "5", "Url": "https://go.example/tents", "State": "INUSE"},
            {"Id": "6", "Url": "https://go.example/tents-2", "State": "AVAILABLE"},
            {"Id": "7", "Url": "https://go.example/jackets", "State": "AVAILABLE"},
        ]
    }
    tracking_values.refresh(sandbox_sid, client=fake, force=True)
    found = tracking_values.choices(sandbox_sid, "url", "TENTS")
    assert [v.impact_id for v in found] == ["6", "5"]


def test_a_sync_started_by_a_person_is_in_the_audit_trail_with_its_counts(seeded, alice):
    run = sync.run_sync(seeded, "open", user=alice)
    event = AuditEvent.objects.get(action="sync")
    assert (event.actor, event.outcome) == (alice, "success")
    assert event.detail["created"] == run.created and event.detail["kind"] == "open"


def test_a_failed_sync_is_in_the_audit_trail_with_its_error(sandbox_sid, monkeypatch):
    fake = FakeImpact([wire_request()] * 4, fail_on_page=1)
    sync.run_sync(sandbox_sid, "open", client=fake)
    event = AuditEvent.objects.get(action="sync")
    assert event.outcome == "failure" and event.response_message


def test_background_open_syncs_that_succeed_stay_out_of_the_audit_trail(seeded):
    sync.run_sync(seeded, "open")
    assert not AuditEvent.objects.filter(action="sync").exists()


def test_check_impact_names_the_account_from_its_company_information(sandbox_sid, capsys):
    from django.core.management import call_command

    call_command("check_impact")
    out = capsys.readouterr().out
    assert "Acme Outdoor Co. (sandbox)" in out and "API version 14" in out
    assert Account.objects.get(sid=sandbox_sid).name == "Acme Outdoor Co. (sandbox)"


def test_check_impact_with_a_wrong_token_fails_without_showing_it(sandbox_sid, monkeypatch):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    real = impact.get_client

    def wrong_token(account_sid=None):
        client = real(account_sid)
        client.session.auth = (sandbox_sid, "not-the-token-42")
        return client

    monkeypatch.setattr(impact, "get_client", wrong_token)
    with pytest.raises(CommandError) as failure:
        call_command("check_impact")
    assert "Authentication failed" in str(failure.value)
    assert "not-the-token-42" not in str(failure.value)


def test_pages_name_the_account_once_impact_com_did(as_alice, sandbox_sid):
    Account.objects.update_or_create(sid=sandbox_sid, defaults={"name": "Acme <Outdoor>"})
    page = as_alice.get("/").content.decode()
    assert 'class="muted account"' in page and "Acme &lt;Outdoor&gt;" in page
