"""Notifications: people are told before a deadline passes, by email or in Slack.

Three steps, each run by the task worker's sweep (housekeeping.py) and each safe to run in
two workers at once:
- `collect` turns what happened into Notification rows, one per person, event and channel:
  new requests in their queues, requests they hold about to breach, breaches in their queues,
  and (for admins) an account's rules paused. A unique key per (person, channel, event)
  means an event is never recorded twice; muted requests and partners are skipped.
- `dispatch` gathers a person's waiting notifications into one Delivery per channel when they
  are due: at once, or as an hourly or daily digest, never in the person's quiet hours.
  Notifications are claimed by a conditional update, so no notification joins two messages.
- `send` sends one delivery (a conditional update moves it to `sending` with a lease): by
  Django's email, or by POSTing to the team's Slack incoming webhook. A failure is retried
  after 1, 5, 15, 60 and 180 minutes, then given up on with an audit event.

Each message links to the request (or the list) through a signed link that expires after
TVR_NOTIFY_LINK_DAYS; signing in is still required. Messages carry no token, and partner text
goes into Slack escaped as Slack asks (&, <, >).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from requests_app import audit, credentials, roles, slack
from requests_app.models import (
    Account,
    AuditEvent,
    Delivery,
    Mute,
    Notification,
    NotificationSettings,
    TrackingValueRequest,
)

logger = logging.getLogger(__name__)

SIGNING_SALT = "tvr.notify.link"
# Waits before each retry of a failed delivery, in minutes; after the last it is given up.
RETRY_MINUTES = (1, 5, 15, 60, 180)
# A request first seen this long ago or more is not "new" (turning notifications on does not
# announce the whole backlog).
NEW_WINDOW = timedelta(hours=24)
SENDING_LEASE = timedelta(minutes=2)


# --- signed links -----------------------------------------------------------------------------


# What a signed link may open, inside its account: a request, the list, the rules.
LINK_PAGES = ("requests:detail", "requests:list", "requests:rules")


def signed_link(account_sid: str, page: str = "requests:detail", *args: str) -> str:
    """An absolute link to a page of an account (LINK_PAGES) that expires after
    TVR_NOTIFY_LINK_DAYS; opening it still needs a sign-in."""
    token = signing.dumps({"a": account_sid, "p": page, "args": list(args)}, salt=SIGNING_SALT)
    path = reverse("requests:notification_link", args=[token]).removeprefix(get_script_prefix())
    return f"{settings.TVR_SITE_URL.rstrip('/')}/{path}"


class LinkExpired(Exception):
    pass


def open_link(token: str) -> tuple[str, str, list[str]]:
    """(account, page, its arguments) of a signed link; LinkExpired when it is too old,
    signing.BadSignature when it was not made here."""
    try:
        found = signing.loads(
            token[:2000], salt=SIGNING_SALT, max_age=timedelta(days=settings.TVR_NOTIFY_LINK_DAYS)
        )
    except signing.SignatureExpired:
        raise LinkExpired from None
    page = found.get("p") if isinstance(found, dict) else None
    if page not in LINK_PAGES:
        raise signing.BadSignature("Not a page a link may open.")
    return str(found["a"]), page, [str(arg) for arg in found.get("args", [])]


# --- collect ----------------------------------------------------------------------------------


def due_to_collect() -> bool:
    """Whether this sweep collects and sends: once a TVR_NOTIFY_EVERY_SECONDS across the
    workers sharing the cache (cache.add is atomic), not on every sweep."""
    return cache.add("tvr:notify:swept", 1, timeout=settings.TVR_NOTIFY_EVERY_SECONDS)


def collect(now: datetime | None = None) -> int:
    """Record every event someone asked to hear about and has not been told; how many."""
    now = now or timezone.now()
    made = 0
    wanting = NotificationSettings.objects.filter(
        Q(new_in_queues=True) | Q(about_to_breach=True) | Q(breaches=True) | Q(rule_paused=True),
        Q(by_email=True) | Q(by_slack=True),
        user__is_active=True,
    ).select_related("user")
    for prefs in wanting:
        for account_sid, role in _roles(prefs.user):
            made += _collect_for(prefs, account_sid, role, now)
    return made


def _roles(user: Any) -> list[tuple[str, str]]:
    """(account, role) of every account the person may open (superusers: all, as admin)."""
    return [(account.sid, account.role) for account in roles.visible_accounts(user)]


def _collect_for(prefs: NotificationSettings, account_sid: str, role: str, now: datetime) -> int:
    user = prefs.user
    decides = roles.DECIDE in roles.ROLE_PERMISSIONS.get(role, ())
    events: list[tuple[str, str, TrackingValueRequest | None, str]] = []
    open_rows = (
        TrackingValueRequest.objects.open()
        .for_account(account_sid)
        .only("pk", "impact_id", "media_partner_id", "sla_due_at")
    )
    mine = Q(assigned_to=user) | (Q(assigned_to__isnull=True) if decides else Q(pk__in=[]))
    if prefs.new_in_queues:
        fresh = open_rows.filter(mine, first_seen_at__gte=now - NEW_WINDOW)
        events += [(f"new:{r.pk}", Notification.Kind.NEW, r, "") for r in fresh]
    if prefs.about_to_breach:
        soon = open_rows.filter(
            assigned_to=user,
            sla_due_at__gte=now,
            sla_due_at__lte=now + timedelta(hours=settings.TVR_SLA_WARN_HOURS),
        )
        events += [
            (f"soon:{r.pk}:{r.sla_due_at:%Y%m%d%H%M}", Notification.Kind.SOON, r, "") for r in soon
        ]
    if prefs.breaches:
        breached = open_rows.filter(mine, sla_due_at__lt=now, sla_due_at__gte=now - NEW_WINDOW)
        events += [
            (f"breach:{r.pk}:{r.sla_due_at:%Y%m%d%H%M}", Notification.Kind.BREACH, r, "")
            for r in breached
        ]
    if prefs.rule_paused and role == roles.ADMIN:
        account = Account.objects.filter(sid=account_sid, rules_stopped_at__isnull=False).first()
        if account is not None and account.rules_stopped_at >= now - NEW_WINDOW:
            key = f"paused:{account_sid}:{account.rules_stopped_at:%Y%m%d%H%M%S}"
            events.append((key, Notification.Kind.PAUSED, None, account.rules_stopped_why))
    muted = _muted(user, account_sid)
    events = [e for e in events if e[2] is None or not muted(e[2])]
    if not events:
        return 0
    channels = []
    if prefs.by_email and user.email:
        channels.append(Notification.Channel.EMAIL)
    if prefs.by_slack and _has_webhook(account_sid):
        channels.append(Notification.Channel.SLACK)
    keys = [key[:200] for key, *_ in events]
    known = set(
        Notification.objects.filter(
            Q(user=user) | Q(channel=Notification.Channel.SLACK), key__in=keys
        ).values_list("channel", "key")
    )
    rows = [
        Notification(
            user=user,
            channel=channel,
            key=key[:200],
            kind=kind,
            account_sid=account_sid,
            request=request,
            text=text[:300],
        )
        for key, kind, request, text in events
        for channel in channels
        if (channel, key[:200]) not in known
    ]
    # Another worker (or, for Slack, a teammate) may record the same event meanwhile: the
    # unique keys keep it once.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _has_webhook(account_sid: str) -> bool:
    return Account.objects.filter(sid=account_sid).exclude(slack_webhook_encrypted="").exists()


def _muted(user: Any, account_sid: str):
    mutes = list(
        Mute.objects.filter(user=user, account_sid=account_sid).values_list(
            "request_impact_id", "partner_id"
        )
    )
    requests_muted = {r for r, _ in mutes if r}
    partners_muted = {p for _, p in mutes if p is not None}
    return lambda row: row.impact_id in requests_muted or row.media_partner_id in partners_muted


# --- dispatch ---------------------------------------------------------------------------------


def zone_of(prefs: NotificationSettings) -> ZoneInfo:
    try:
        return ZoneInfo(prefs.time_zone or settings.TIME_ZONE)
    except (ValueError, ZoneInfoNotFoundError):
        return ZoneInfo(settings.TIME_ZONE)


def in_quiet_hours(prefs: NotificationSettings, now: datetime) -> bool:
    """Whether `now` falls in the person's quiet hours, in their zone (they may span
    midnight)."""
    start, end = prefs.quiet_from, prefs.quiet_to
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(zone_of(prefs)).time()
    return start <= local < end if start < end else local >= start or local < end


# A daily digest goes at this time of the person's day (or when their quiet hours end).
DAILY_AT = time(8, 0)


def is_due(prefs: NotificationSettings, now: datetime) -> bool:
    """At once: now. Hourly: once the hour the last message went in has passed. Daily: once
    a day, from DAILY_AT in the person's zone. Never in quiet hours."""
    if in_quiet_hours(prefs, now):
        return False
    last = prefs.last_sent_at
    if last is None or prefs.frequency == NotificationSettings.Frequency.AT_ONCE:
        return True
    local = now.astimezone(zone_of(prefs))
    if prefs.frequency == NotificationSettings.Frequency.HOURLY:
        since = local.replace(minute=0, second=0, microsecond=0)
    else:
        since = datetime.combine(local.date(), DAILY_AT, tzinfo=local.tzinfo)
        if local < since:
            return False
    return last < since


def dispatch(now: datetime | None = None) -> list[Delivery]:
    """One delivery per person and channel (and, for Slack, account) whose waiting
    notifications are due."""
    now = now or timezone.now()
    made = []
    waiting = Notification.objects.filter(delivery__isnull=True)
    groups = {
        (user, channel, sid if channel == Notification.Channel.SLACK else "")
        for user, channel, sid in waiting.values_list("user", "channel", "account_sid").distinct()
    }
    prefs_by_user = {
        p.user_id: p
        for p in NotificationSettings.objects.filter(user__in={u for u, _, _ in groups})
    }
    sent_to = set()
    for user_id, channel, sid in sorted(groups):
        prefs = prefs_by_user.get(user_id)
        if prefs is None or not is_due(prefs, now):
            continue
        delivery = _claim(user_id, channel, sid, now)
        if delivery is not None:
            made.append(delivery)
            sent_to.add(user_id)
    NotificationSettings.objects.filter(pk__in=sent_to).update(last_sent_at=now)
    for delivery in made:
        _enqueue(delivery)
    return made


def _claim(user_id: int, channel: str, account_sid: str, now: datetime) -> Delivery | None:
    """A delivery holding the person's waiting notifications on the channel (for Slack, of
    one account), or None when another worker took them first."""
    with transaction.atomic():
        delivery = Delivery.objects.create(
            user_id=user_id, channel=channel, account_sid=account_sid, next_attempt_at=now
        )
        waiting = Notification.objects.filter(
            user_id=user_id, channel=channel, delivery__isnull=True
        )
        if account_sid:
            waiting = waiting.filter(account_sid=account_sid)
        if not waiting.update(delivery=delivery):
            delivery.delete()
            return None
    return delivery


def _enqueue(delivery: Delivery) -> None:
    from requests_app.tasks import send_delivery_task

    transaction.on_commit(lambda: send_delivery_task.enqueue(delivery.pk))


# --- send -------------------------------------------------------------------------------------


class SendFailed(Exception):
    pass


def send(delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Send one delivery if it is due and no one else is sending it; record what happened.
    What is no longer worth saying (the request decided or out of the person's queue, the
    person gone, muted, or no longer asking) is dropped, not sent."""
    now = now or timezone.now()
    ready = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, lease_until__lt=now
    )
    if not Delivery.objects.filter(ready, pk=delivery_id).update(
        status=Delivery.Status.SENDING, lease_until=now + SENDING_LEASE
    ):
        return None
    delivery = Delivery.objects.select_related("user").get(pk=delivery_id)
    try:
        notes = still_worth_saying(delivery)
        if not notes:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.DROPPED, lease_until=None
            )
            delivery.refresh_from_db()
            return delivery
        if delivery.channel == Notification.Channel.EMAIL:
            _send_email(delivery.user, notes)
        else:
            _send_slack(delivery.account_sid, notes)
    except SendFailed as failure:
        return _failed(delivery, str(failure), now)
    except Exception as error:  # never stuck in `sending`: retried, then given up, recorded
        logger.exception("Delivery %s could not be sent", delivery.pk)
        return _failed(delivery, f"Unexpected error: {type(error).__name__}", now)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, sent_at=timezone.now(), lease_until=None, last_error=""
    )
    delivery.refresh_from_db()
    return delivery


def still_worth_saying(delivery: Delivery) -> list[Notification]:
    """The delivery's notifications that still hold at sending time."""
    user = delivery.user
    prefs = NotificationSettings.objects.filter(user=user).first()
    if not user.is_active or prefs is None:
        return []
    wanted = {
        Notification.Kind.NEW: prefs.new_in_queues,
        Notification.Kind.SOON: prefs.about_to_breach,
        Notification.Kind.BREACH: prefs.breaches,
        Notification.Kind.PAUSED: prefs.rule_paused,
    }
    channel_on = (
        prefs.by_email if delivery.channel == Notification.Channel.EMAIL else prefs.by_slack
    )
    if not channel_on:
        return []
    granted = dict(_roles(user))
    notes = delivery.notifications.select_related("request").order_by("created_at", "pk")
    mutes = {sid: _muted(user, sid) for sid in granted}
    kept = []
    for note in notes:
        row = note.request
        if not wanted.get(note.kind) or note.account_sid not in granted:
            continue
        if row is not None:
            if not row.is_open or mutes[note.account_sid](row):
                continue
            if row.assigned_to_id not in (None, user.pk):
                continue  # someone else took it
        kept.append(note)
    return kept


def _failed(delivery: Delivery, why: str, now: datetime) -> Delivery:
    attempts = delivery.attempts + 1
    if attempts > len(RETRY_MINUTES):
        with transaction.atomic():
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.FAILED, attempts=attempts, last_error=why[:300]
            )
            audit.record(
                action="notification_failed",
                outcome=AuditEvent.Outcome.FAILURE,
                account_sid=_account_of(delivery),
                response_message=f"Gave up sending a {delivery.channel} message to "
                f"{delivery.user.get_username()} after {attempts} tries: {why}"[:500],
                detail={"delivery": delivery.pk, "attempts": attempts},
            )
    else:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING,
            attempts=attempts,
            last_error=why[:300],
            lease_until=None,
            next_attempt_at=now + timedelta(minutes=RETRY_MINUTES[attempts - 1]),
        )
    logger.info("Delivery %s failed (try %s): %s", delivery.pk, attempts, why)
    delivery.refresh_from_db()
    return delivery


def _account_of(delivery: Delivery) -> str:
    if delivery.account_sid:
        return delivery.account_sid
    return delivery.notifications.values_list("account_sid", flat=True).first() or ""


def send_due(now: datetime | None = None) -> int:
    """Send every delivery that is due (the sweep's safety net, and the retries)."""
    now = now or timezone.now()
    due = Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        | Q(status=Delivery.Status.SENDING, lease_until__lt=now)
    ).values_list("pk", flat=True)
    return sum(send(pk, now) is not None for pk in list(due))  # send never raises


# --- the messages -----------------------------------------------------------------------------


# A message lists at most this many; the rest are one link to the list.
MESSAGE_ITEMS = 50


def plain(text: str) -> str:
    """Partner and campaign text on one line: no line breaks or control characters that
    could make it look like an entry or a link of our own."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def lines(notes: list[Notification], *, slack: bool) -> list[str]:
    """One line per notification (up to MESSAGE_ITEMS): what happened, the request in words,
    and its link; then how many more, with a link to the list."""
    escape = slack_escape if slack else str
    found = []
    for note in notes[:MESSAGE_ITEMS]:
        row = note.request
        if row is not None:
            what = f"{note.get_kind_display()}: {row.impact_id} · {plain(row.media_partner_name)}"
            what += f" · {plain(row.campaign_name)}"
            if row.sla_due_at and note.kind != Notification.Kind.NEW:
                what += f" (deadline {timezone.localtime(row.sla_due_at):%a %d %b %H:%M})"
            link = signed_link(note.account_sid, "requests:detail", row.impact_id)
        else:
            what = f"{note.get_kind_display()} ({note.account_sid}): {plain(note.text)}"
            link = signed_link(note.account_sid, "requests:rules")
        found.append(f"<{link}|{escape(what)}>" if slack else f"- {what}\n  {link}")
    if len(notes) > MESSAGE_ITEMS:
        more = f"and {len(notes) - MESSAGE_ITEMS} more"
        link = signed_link(notes[0].account_sid, "requests:list")
        found.append(f"<{link}|{more}>" if slack else f"- {more}: {link}")
    return found


def slack_escape(text: str) -> str:
    """Slack's own escaping for message text: partner text can then not make a link or a
    mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _send_email(user: Any, notes: list[Notification]) -> None:
    if not user.email:
        raise SendFailed("This person has no email address.")
    count = len(notes)
    subject = (
        f"TVR Dashboard: {notes[0].get_kind_display().lower()}"
        if count == 1
        else f"TVR Dashboard: {count} updates"
    )
    body = "\n".join(lines(notes, slack=False))
    body += (
        f"\n\nLinks expire after {settings.TVR_NOTIFY_LINK_DAYS} days; you are asked to sign in.\n"
    )
    body += "Your notification settings: " + settings.TVR_SITE_URL.rstrip("/") + "/preferences/\n"
    try:
        send_mail(subject, body, None, [user.email])
    except Exception as error:  # the mail server's own words, never our settings
        raise SendFailed(f"The mail server refused: {type(error).__name__}") from None


def _send_slack(account_sid: str, notes: list[Notification]) -> None:
    url = webhook_of(account_sid)
    if not url:
        raise SendFailed(f"The team of {account_sid} has no Slack webhook.")
    try:
        slack.post(url, "\n".join(lines(notes, slack=True)))
    except slack.NotDelivered as failure:
        raise SendFailed(str(failure)) from None


# --- the team's Slack webhook -----------------------------------------------------------------


def webhook_of(account_sid: str) -> str:
    stored = (
        Account.objects.filter(sid=account_sid)
        .values_list("slack_webhook_encrypted", flat=True)
        .first()
    )
    return credentials.decrypt(stored) if stored else ""


def set_webhook(account_sid: str, url: str, *, by: Any) -> None:
    """Keep the team's webhook encrypted (it is a secret: whoever has it can post); empty
    removes it. Audited without the address."""
    with transaction.atomic():
        Account.objects.filter(sid=account_sid).update(
            slack_webhook_encrypted=credentials.encrypt(url) if url else "",
            slack_webhook_saved_at=timezone.now() if url else None,
        )
        audit.record(
            action="slack_webhook",
            outcome=AuditEvent.Outcome.INFO,
            actor=by,
            account_sid=account_sid,
            detail={"set": bool(url)},
        )


def settings_for(user: Any) -> NotificationSettings:
    try:
        return NotificationSettings.objects.get(user=user)
    except NotificationSettings.DoesNotExist:
        try:
            return NotificationSettings.objects.create(user=user)
        except IntegrityError:
            return NotificationSettings.objects.get(user=user)


def mute(
    user: Any,
    account_sid: str,
    *,
    request: TrackingValueRequest | None = None,
    partner: tuple[int, str] | None = None,
) -> None:
    """Hear nothing more of a request, or of a partner on the account."""
    values = {"user": user, "account_sid": account_sid}
    if request is not None:
        Mute.objects.get_or_create(**values, request_impact_id=request.impact_id)
    elif partner is not None:
        Mute.objects.get_or_create(
            **values, partner_id=partner[0], defaults={"partner_name": partner[1]}
        )
    pending = Notification.objects.filter(user=user, account_sid=account_sid, delivery__isnull=True)
    if request is not None:
        pending.filter(request=request).delete()
    elif partner is not None:
        pending.filter(request__media_partner_id=partner[0]).delete()
