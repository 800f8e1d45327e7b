"""Notifications (notify.py): the right requests in each digest, never twice, quiet hours,
expiring signed links, and Slack through a real local HTTP receiver that may fail."""

from __future__ import annotations

import json
import threading
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail, signing
from django.db import connection, connections
from django.utils import timezone

from requests_app import notify, queues
from requests_app.models import (
    Account,
    AuditEvent,
    Delivery,
    Notification,
    NotificationSettings,
    TrackingValueRequest,
)
from tests.conftest import in_account

pytestmark = pytest.mark.django_db


class Receiver:
    """A local stand-in for Slack's incoming webhook: records each POST, answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status == 200 else b"error")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def sid(sandbox_sid) -> str:
    Account.objects.get_or_create(sid=sandbox_sid)
    return sandbox_sid


def wants(user, **fields: Any) -> NotificationSettings:
    prefs = notify.settings_for(user)
    for name, value in {"new_in_queues": True, "frequency": "hourly", **fields}.items():
        setattr(prefs, name, value)
    prefs.save()
    return prefs


def deliver(now: datetime | None = None) -> list[Delivery]:
    """What the worker's sweep does: collect, gather what is due, send it."""
    notify.collect(now)
    made = notify.dispatch(now)
    for delivery in made:
        notify.send(delivery.pk, now)
    return made


def test_a_digest_holds_exactly_the_new_requests_of_the_persons_queues(
    alice, bob, make_request, sid
):
    wants(alice)
    mine = [make_request(MediaPartnerName=f"Partner {n}") for n in range(3)]
    held_by_bob = make_request()
    queues.claim(request=held_by_bob, user=bob)
    muted = make_request(MediaPartnerName="Muted partner")
    notify.mute(alice, sid, request=muted)
    Account.objects.create(sid="OTHER1")
    make_request("OTHER1")  # an account alice holds no role on
    old = make_request()
    TrackingValueRequest.objects.filter(pk=old.pk).update(
        first_seen_at=timezone.now() - timedelta(days=2)
    )

    deliver()

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "TVR Dashboard: 3 updates"
    for row in mine:
        assert row.impact_id in body
    for row in (held_by_bob, muted, old):
        assert row.impact_id not in body
    assert "/n/" in body and "sign in" in body


def test_nothing_is_sent_twice_when_the_sweep_runs_again(alice, make_request, sid):
    wants(alice, frequency="at_once")
    make_request()
    made = deliver()

    again = deliver(timezone.now() + timedelta(hours=2))
    notify.send(made[0].pk, timezone.now() + timedelta(hours=3))

    assert again == [] and len(mail.outbox) == 1
    assert Notification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_notification_once(alice, make_request, sandbox_sid):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL; SQLite serialises them anyway")
    Account.objects.get_or_create(sid=sandbox_sid)
    wants(alice, frequency="at_once")
    for _ in range(5):
        make_request()
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            notify.collect()
            notify.dispatch()
            notify.send_due()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notify.send_due()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "TVR Dashboard: 5 updates"
    assert Notification.objects.count() == 5
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_quiet_hours_hold_messages_until_they_end(alice, make_request, sid, settings):
    settings.TIME_ZONE = "UTC"
    wants(alice, frequency="at_once", quiet_from=time(22, 0), quiet_to=time(7, 0))
    make_request()
    night = timezone.now().replace(hour=23, minute=30)

    assert deliver(night) == [] and mail.outbox == []
    assert deliver(night + timedelta(hours=6)) == []  # 05:30, still quiet
    assert len(deliver(night + timedelta(hours=8))) == 1  # 07:30
    assert len(mail.outbox) == 1


def test_an_hourly_digest_goes_at_most_once_each_clock_hour(alice, make_request, sid, settings):
    settings.TIME_ZONE = "UTC"
    wants(alice)
    make_request()
    start = timezone.now().replace(minute=5, second=0, microsecond=0) + timedelta(hours=1)
    deliver(start)  # 5 past the hour
    make_request()

    assert deliver(start + timedelta(minutes=30)) == []  # the same hour
    assert len(deliver(start + timedelta(minutes=56))) == 1  # 1 past the next hour
    assert len(mail.outbox) == 2


def test_held_requests_about_to_breach_breaches_and_paused_rules_are_told(admin, make_request, sid):
    wants(admin, new_in_queues=False, about_to_breach=True, breaches=True, rule_paused=True)
    now = timezone.now()
    soon = make_request(DateNeeded=(now + timedelta(hours=2)).isoformat())
    queues.claim(request=soon, user=admin)
    breached = make_request(DateNeeded=(now - timedelta(hours=1)).isoformat())
    make_request(DateNeeded=(now + timedelta(days=5)).isoformat())  # nothing to say yet
    Account.objects.filter(sid=sid).update(
        rules_stopped_at=now, rules_stopped_why="Paused: 3 refusals"
    )

    deliver()

    body = mail.outbox[0].body
    assert f"About to breach: {soon.impact_id}" in body
    assert f"Breached its deadline: {breached.impact_id}" in body
    assert "Rules paused" in body and "Paused: 3 refusals" in body
    assert body.count("\n- ") + body.startswith("- ") == 3


def test_a_signed_link_opens_its_request_and_expires(client, alice, make_request, sid, settings):
    row = make_request()
    link = notify.signed_link(sid, "requests:detail", row.impact_id)
    path = link.removeprefix(settings.TVR_SITE_URL.rstrip("/"))

    assert client.get(path)["Location"].startswith("/accounts/login/")  # signing in first
    client.force_login(alice)
    assert client.get(path)["Location"] == in_account(f"/r/{row.impact_id}/")
    assert client.get(path[:-3] + "xx/").status_code == 404  # not made here
    settings.TVR_NOTIFY_LINK_DAYS = 7  # and the clock moves on by 8 days
    real_time = signing.time.time
    signing.time.time = lambda: real_time() + 8 * 86400
    try:
        expired = client.get(path)
    finally:
        signing.time.time = real_time
    assert expired.status_code == 410
    assert "This link has expired" in expired.content.decode()


def test_slack_gets_escaped_partner_text_and_links_and_never_the_token(
    bob, make_request, sid, receiver, admin, settings
):
    notify.set_webhook(sid, receiver.url, by=admin)
    wants(bob, frequency="at_once", by_email=False, by_slack=True)
    make_request(MediaPartnerName="<@channel> & <script>alert(1)</script>")

    deliver()

    assert len(receiver.posts) == 1
    text = receiver.posts[0]["text"]
    assert "&lt;@channel&gt; &amp; &lt;script&gt;" in text
    assert "<@channel>" not in text and "<script>" not in text
    assert settings.IMPACT_SANDBOX_AUTH_TOKEN not in text
    assert "/n/" in text
    stored = Account.objects.get(sid=sid).slack_webhook_encrypted
    assert receiver.url not in stored and "secret" not in stored


def test_a_receiver_that_fails_is_retried_with_backoff_then_given_up_with_a_record(
    bob, make_request, sid, receiver, admin
):
    receiver.status = 500
    notify.set_webhook(sid, receiver.url, by=admin)
    wants(bob, frequency="at_once", by_email=False, by_slack=True)
    make_request()
    now = timezone.now()
    delivery = deliver(now)[0]
    waits = []
    for _ in range(len(notify.RETRY_MINUTES)):
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.PENDING
        waits.append(round((delivery.next_attempt_at - now).total_seconds() / 60))
        now = delivery.next_attempt_at
        assert notify.send_due(now - timedelta(seconds=1)) == 0  # not before it is due
        notify.send_due(now)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == len(notify.RETRY_MINUTES) + 1 == len(receiver.posts)
    assert waits == list(notify.RETRY_MINUTES)
    assert delivery.last_error == "Slack answered 500."
    event = AuditEvent.objects.get(action="notification_failed")
    assert "Gave up sending a slack message to bob after 6 tries" in event.response_message
    assert receiver.url not in event.response_message


def test_a_receiver_that_hangs_up_is_a_failure_like_any_other(bob, make_request, sid, admin):
    notify.set_webhook(sid, "http://127.0.0.1:9/nothing-listens", by=admin)
    wants(bob, frequency="at_once", by_email=False, by_slack=True)
    make_request()

    delivery = deliver()[0]

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert delivery.last_error == "Slack could not be reached: ConnectionError"


def test_muting_a_partner_drops_their_waiting_notifications(client, alice, make_request, sid):
    wants(alice)
    row = make_request(MediaPartnerName="Noisy")
    notify.collect()
    client.force_login(alice)

    client.post(in_account(f"/r/{row.impact_id}/mute/"), {"what": "partner"})

    assert not Notification.objects.filter(request=row).exists()
    notify.collect()
    assert not Notification.objects.filter(request=row).exists()


def test_preferences_save_and_half_quiet_hours_are_refused(client, alice, sid):
    client.force_login(alice)
    fields = {"new_in_queues": "on", "by_email": "on", "frequency": "daily"}

    refused = client.post(
        in_account("/preferences/notifications/"), fields | {"quiet_from": "22:00"}
    )
    client.post(
        in_account("/preferences/notifications/"),
        fields | {"quiet_from": "22:00", "quiet_to": "07:00"},
    )

    assert refused.status_code == 400
    assert "Give both times" in refused.content.decode()
    prefs = NotificationSettings.objects.get(user=alice)
    assert (prefs.frequency, prefs.quiet_from, prefs.quiet_to) == ("daily", time(22), time(7))


def test_only_an_admin_sets_the_slack_webhook_and_only_over_https(client, alice, admin, sid):
    client.force_login(alice)
    assert (
        client.post(in_account("/team/slack/"), {"webhook": "https://hooks.example/x"}).status_code
        == 403
    )
    client.force_login(admin)

    for refused in (
        "http://hooks.slack.com/services/T0/B0/x",  # not https
        "https://10.0.0.1/services/x",  # not Slack: the worker would post inside the network
        "https://hooks.slack.com.evil.example/x",
        "javascript:alert(1)",
        "x" * 600,
    ):
        client.post(in_account("/team/slack/"), {"webhook": refused})
        assert notify.webhook_of(sid) == ""
    client.post(in_account("/team/slack/"), {"webhook": "https://hooks.slack.com/T0/B0/s3cret"})

    assert notify.webhook_of(sid) == "https://hooks.slack.com/T0/B0/s3cret"
    page = client.get(in_account("/team/")).content.decode()
    assert "s3cret" not in page and "A webhook is set" in page


def test_the_workers_sweep_sends_notifications_once_a_minute_at_most(alice, make_request, sid):
    from requests_app import housekeeping

    wants(alice, frequency="at_once")
    make_request()

    first = housekeeping.sweep()
    make_request()
    second = housekeeping.sweep()  # within the minute: not collected yet

    assert (first["notifications"], first["messages_sent"]) == (1, 1)
    assert "notifications" not in second
    assert len(mail.outbox) == 1


# --- from the review of the first version -------------------------------------------------


def test_an_unexpected_error_is_retried_and_given_up_like_a_refusal(
    bob, make_request, sid, admin, receiver, monkeypatch
):
    notify.set_webhook(sid, receiver.url, by=admin)
    wants(bob, frequency="at_once", by_email=False, by_slack=True)
    make_request()

    def unreadable(account_sid: str) -> str:
        raise RuntimeError("the key that encrypted it is gone")

    monkeypatch.setattr(notify, "webhook_of", unreadable)
    now = timezone.now()
    delivery = deliver(now)[0]
    for _ in notify.RETRY_MINUTES:
        delivery.refresh_from_db()
        now = delivery.next_attempt_at
        notify.send_due(now)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error == "Unexpected error: RuntimeError"
    assert AuditEvent.objects.filter(action="notification_failed").count() == 1


def test_slack_hears_of_an_event_once_per_team_and_each_team_is_retried_apart(
    alice, bob, make_request, sid, admin, receiver
):
    from requests_app import roles

    failing = Receiver(status=500)
    try:
        Account.objects.create(sid="OTHER1")
        roles.grant(alice, "OTHER1", roles.REVIEWER)
        notify.set_webhook(sid, receiver.url, by=admin)
        notify.set_webhook("OTHER1", failing.url, by=admin)
        for person in (alice, bob):
            wants(person, frequency="at_once", by_email=False, by_slack=True)
        make_request()
        make_request("OTHER1")

        now = timezone.now()
        deliver(now)
        for minutes in notify.RETRY_MINUTES[:3]:
            now += timedelta(minutes=minutes)
            notify.send_due(now)
    finally:
        failing.close()

    assert len(receiver.posts) == 1  # alice and bob both wanted it: the channel hears it once
    assert len(failing.posts) == 4  # the first try and three retries, of its own message
    assert Notification.objects.filter(channel="slack").count() == 2


def test_what_is_no_longer_worth_saying_is_dropped_at_sending_time(alice, bob, make_request, sid):
    from requests_app import sync

    wants(alice)
    decided = make_request()
    taken = make_request()
    kept = make_request()
    notify.collect()
    sync.mark_decided(decided, "DECLINED")  # decided before the digest went
    queues.claim(request=taken, user=bob)

    deliver()

    body = mail.outbox[0].body
    assert kept.impact_id in body
    assert decided.impact_id not in body and taken.impact_id not in body


def test_a_person_who_lost_access_is_told_nothing(alice, make_request, sid):
    from requests_app import roles

    wants(alice, frequency="at_once")
    make_request(MediaPartnerName="Confidential partner")
    notify.collect()
    roles.grant(alice, sid, None)

    made = deliver()

    assert mail.outbox == []
    made[0].refresh_from_db()
    assert made[0].status == Delivery.Status.DROPPED


def test_partner_text_cannot_forge_a_line_or_a_link_in_an_email(alice, make_request, sid):
    wants(alice, frequency="at_once")
    make_request(MediaPartnerName="Nice\n  https://evil.example/login\n- Breached: 1")

    deliver()

    body = mail.outbox[0].body
    assert "\n  https://evil.example" not in body and "\n- Breached" not in body
    assert "Nice https://evil.example/login - Breached: 1" in body


def test_quiet_hours_are_in_the_zone_of_the_browser_that_set_them(
    client, alice, make_request, sid, monkeypatch
):
    monkeypatch.setattr(notify, "NEW_WINDOW", timedelta(days=3650))  # a fixed calendar day
    client.force_login(alice)
    client.cookies["tz"] = "America/New_York"
    client.post(
        in_account("/preferences/notifications/"),
        {
            "new_in_queues": "on",
            "by_email": "on",
            "frequency": "at_once",
            "quiet_from": "22:00",
            "quiet_to": "07:00",
        },
    )
    make_request()
    three_am_new_york = datetime(2026, 12, 8, 8, 0, tzinfo=timezone.UTC)

    assert NotificationSettings.objects.get(user=alice).time_zone == "America/New_York"
    assert deliver(three_am_new_york) == []
    assert len(deliver(three_am_new_york + timedelta(hours=5))) == 1


def test_a_daily_digest_goes_once_a_day_from_eight(alice, make_request, sid, settings, monkeypatch):
    settings.TIME_ZONE = "UTC"
    monkeypatch.setattr(notify, "NEW_WINDOW", timedelta(days=3650))  # a fixed calendar day
    prefs = wants(alice, frequency="daily")
    day = datetime(2026, 12, 8, tzinfo=timezone.UTC)
    prefs.last_sent_at = day - timedelta(hours=20)  # yesterday 04:00
    prefs.save()
    make_request()

    assert deliver(day + timedelta(hours=7, minutes=59)) == []
    assert len(deliver(day + timedelta(hours=8, minutes=1))) == 1
    make_request()
    assert deliver(day + timedelta(hours=9)) == []
    assert deliver(day + timedelta(hours=23)) == []
    assert len(deliver(day + timedelta(days=1, hours=8))) == 1


def test_a_big_digest_lists_fifty_and_links_the_rest(alice, make_request, sid):
    wants(alice, frequency="at_once")
    for _ in range(53):
        make_request()

    deliver()

    body = mail.outbox[0].body
    assert body.count("\n- ") + body.startswith("- ") == 51
    assert "- and 3 more: http" in body


def test_the_webhook_never_reaches_the_logs(bob, make_request, sid, admin, receiver, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    notify.set_webhook(sid, receiver.url, by=admin)
    wants(bob, frequency="at_once", by_email=False, by_slack=True)
    make_request()

    deliver()

    assert len(receiver.posts) == 1
    assert "secret" not in caplog.text
