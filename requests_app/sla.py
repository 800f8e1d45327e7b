"""Service-level targets: decide within N business hours of DatePlaced, always before DateNeeded.

An account's admin sets a target per campaign, or one for every campaign (the default). A
request's deadline (`TrackingValueRequest.sla_due_at`) is the earlier of its date needed and
its date placed plus the target's business hours; with no target it is its date needed. The
sync stamps each request it writes (`stamp`), and a change of targets re-stamps the account's
requests (`restamp`), so the list can sort by time to breach with an index.

Business hours are TVR_BUSINESS_HOURS (09:00-17:00) on TVR_BUSINESS_DAYS (Monday to Friday)
in TVR_TIME_ZONE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from requests_app.models import Account, Decision, SlaTarget, State, TrackingValueRequest


def _hours() -> tuple[time, time]:
    start, end = settings.TVR_BUSINESS_HOURS
    return start, end


def add_business_hours(start: datetime, hours: int) -> datetime:
    """`start` plus `hours` of business time: only the working hours of working days count,
    in the business time zone. Whole weeks are skipped at once, then the rest walked day by
    day (a 2,000-hour target costs a few weeks of days, not a year of them)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    opens, closes = _hours()
    day_length = datetime.combine(start.date(), closes) - datetime.combine(start.date(), opens)
    week = day_length * len(settings.TVR_BUSINESS_DAYS)
    left = timedelta(hours=hours)
    moment = start.astimezone(zone)
    for _ in range(3660):
        if moment.isoweekday() in settings.TVR_BUSINESS_DAYS:
            day_open = datetime.combine(moment.date(), opens, tzinfo=zone)
            day_close = datetime.combine(moment.date(), closes, tzinfo=zone)
            begin = max(moment, day_open)
            if begin < day_close:
                if begin + left <= day_close:
                    return begin + left
                left -= day_close - begin
        next_day = moment.date() + timedelta(days=1)
        whole_weeks = int(left / week) - 1 if week else 0
        if whole_weeks > 0:  # the same weekday, whole weeks on: each holds `week` of work
            next_day += timedelta(weeks=whole_weeks)
            left -= week * whole_weeks
        moment = datetime.combine(next_day, time.min, tzinfo=zone)
    return moment


@dataclass(frozen=True)
class Targets:
    """An account's targets: business hours by campaign id, and the default (None: none)."""

    by_campaign: dict[int, int]
    default: int | None

    @classmethod
    def of(cls, account_sid: str) -> Targets:
        rows = SlaTarget.objects.filter(account_sid=account_sid).values_list("campaign_id", "hours")
        found = dict(rows)
        default = found.pop(None, None)
        return cls(by_campaign=found, default=default)

    def hours_for(self, campaign_id: int | None) -> int | None:
        return self.by_campaign.get(campaign_id, self.default) if campaign_id else self.default

    def due(
        self, campaign_id: int | None, placed: datetime | None, needed: datetime | None
    ) -> datetime | None:
        """The request's deadline: the earlier of its date needed and its target."""
        hours = self.hours_for(campaign_id)
        target = add_business_hours(placed, hours) if hours and placed else None
        found = [moment for moment in (target, needed) if moment is not None]
        return min(found) if found else None


def stamp(account_sid: str, rows: list[dict[str, Any]]) -> None:
    """Set each row's sla_due_at (rows as the sync writes them) from the account's targets."""
    targets = Targets.of(account_sid)
    for row in rows:
        row["sla_due_at"] = targets.due(row["campaign_id"], row["date_placed"], row["date_needed"])


def restamp(account_sid: str, *, batch: int = 2000) -> int:
    """After a change of targets: every open request of the account gets its new deadline
    (a decided one keeps the deadline it was decided against, so past attainment stays as it
    was). Only rows whose deadline changes are written; returns how many."""
    targets = Targets.of(account_sid)
    rows = (
        TrackingValueRequest.objects.open()
        .for_account(account_sid)
        .only("pk", "campaign_id", "date_placed", "date_needed", "sla_due_at")
        .order_by("pk")
    )
    changed: list[TrackingValueRequest] = []
    written = 0
    for row in rows.iterator(chunk_size=batch):
        due = targets.due(row.campaign_id, row.date_placed, row.date_needed)
        if due != row.sla_due_at:
            row.sla_due_at = due
            changed.append(row)
        if len(changed) >= batch:
            written += _write(changed)
            changed = []
    written += _write(changed)
    if written:
        Account.changed(account_sid)
    return written


def _write(rows: list[TrackingValueRequest]) -> int:
    with transaction.atomic():
        TrackingValueRequest.objects.bulk_update(rows, ["sla_due_at"])
    return len(rows)


def set_target(account_sid: str, campaign_id: int | None, hours: int | None, *, by: Any) -> None:
    """Set (or with hours None, remove) a target, audited; the account's open requests are
    re-stamped on the task worker (restamp_task)."""
    from requests_app import audit
    from requests_app.models import AuditEvent

    with transaction.atomic():
        if hours is None:
            SlaTarget.objects.filter(account_sid=account_sid, campaign_id=campaign_id).delete()
        else:
            SlaTarget.objects.update_or_create(
                account_sid=account_sid, campaign_id=campaign_id, defaults={"hours": hours}
            )
        audit.record(
            action="sla_target",
            outcome=AuditEvent.Outcome.INFO,
            actor=by,
            account_sid=account_sid,
            detail={"campaign": campaign_id, "hours": hours},
        )
        from requests_app.tasks import restamp_task

        transaction.on_commit(lambda: restamp_task.enqueue(account_sid))


# --- attainment: decided in time, per week and per reviewer -----------------------------------


@dataclass(frozen=True)
class Attainment:
    label: str
    in_time: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.in_time / self.total) if self.total else 0


def weekly(account_sid: str, *, weeks: int = 8, now: datetime | None = None) -> list[Attainment]:
    """For each of the last `weeks` weeks (Monday first): how many of the requests decided
    that week (in impact.com) were decided by their deadline."""
    now = timezone.localtime(now or timezone.now())
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    first = monday - timedelta(weeks=weeks - 1)
    decided = (
        TrackingValueRequest.objects.for_account(account_sid)
        .filter(
            state__in=[State.APPROVED, State.COMPLETED, State.DECLINED],
            date_completed__gte=first,
            sla_due_at__isnull=False,
        )
        .values_list("date_completed", "sla_due_at")
    )
    counts = {index: [0, 0] for index in range(weeks)}
    for completed, due in decided.iterator(chunk_size=5000):
        index = (timezone.localtime(completed) - first).days // 7
        if 0 <= index < weeks:
            counts[index][1] += 1
            counts[index][0] += completed <= due
    return [
        Attainment(f"{first + timedelta(weeks=index):%b %-d}", *counts[index])
        for index in range(weeks)
    ]


def by_reviewer(account_sid: str, *, since: datetime) -> list[Attainment]:
    """Per person: how many of the decisions they sent since `since` went by the deadline."""
    sent = (
        Decision.objects.filter(
            request__account_sid=account_sid,
            status=Decision.Status.SENT,
            finished_at__gte=since,
            rule__isnull=True,
            request__sla_due_at__isnull=False,
        )
        .values_list("decided_by__username", "finished_at", "request__sla_due_at")
        .order_by("decided_by__username")
    )
    counts: dict[str, list[int]] = {}
    for name, finished, due in sent.iterator(chunk_size=5000):
        count = counts.setdefault(name, [0, 0])
        count[1] += 1
        count[0] += finished <= due
    return [Attainment(name, *count) for name, count in counts.items()]


def breach_marks(due: datetime | None, now: datetime) -> str:
    """ "breached", "breach-soon" (within TVR_SLA_WARN_HOURS) or ""."""
    if due is None:
        return ""
    if due < now:
        return "breached"
    if due <= now + timedelta(hours=settings.TVR_SLA_WARN_HOURS):
        return "breach-soon"
    return ""
