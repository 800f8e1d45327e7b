"""The audit page's CSV export and the team page's numbers and charts (no I/O beyond the ORM)."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from requests_app.models import AuditEvent, Decision, Rule, TrackingValueRequest

CSV_COLUMNS = [
    ("id", "Event"),
    ("created_at", "When (UTC)"),
    ("actor_name", "Who"),
    ("account_sid", "Account"),
    ("request_impact_id", "Request"),
    ("action", "Action"),
    ("outcome", "Outcome"),
    ("sent", "Sent to impact.com"),
    ("response_status", "impact.com status"),
    ("response_message", "impact.com message"),
    ("detail", "Detail"),
    ("hash", "Hash"),
]
# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(event: AuditEvent, field: str) -> str:
    value = getattr(event, field)
    if field == "created_at":
        return value.astimezone(timezone.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if field in ("sent", "detail"):
        return "; ".join(f"{k}={v}" for k, v in sorted((value or {}).items()))
    return neutralise(value)


def audit_csv(events: QuerySet[AuditEvent], *, chunk_size: int = 2000) -> Iterator[str]:
    """The filtered events as CSV text, a line at a time, in constant memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: Iterable[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(label for _, label in CSV_COLUMNS)
    for event in events.order_by("id").iterator(chunk_size=chunk_size):
        yield line(neutralise(_cell(event, field)) for field, _ in CSV_COLUMNS)


# --- the team page -----------------------------------------------------------------------------

AGE_BUCKETS = [
    ("under 1 day", timedelta(0), timedelta(days=1)),
    ("1–3 days", timedelta(days=1), timedelta(days=3)),
    ("3–7 days", timedelta(days=3), timedelta(days=7)),
    ("1–2 weeks", timedelta(days=7), timedelta(days=14)),
    ("over 2 weeks", timedelta(days=14), None),
]


@dataclass(frozen=True)
class ReviewerStats:
    name: str
    approved: int
    rejected: int
    median_hours: float | None

    @property
    def total(self) -> int:
        return self.approved + self.rejected


def reviewer_stats(account_sid: str, *, since: datetime) -> list[ReviewerStats]:
    """Decisions people sent since a date, per reviewer, with the median time from placed to
    decided (rules' decisions are counted apart: rule_stats)."""
    sent = Decision.objects.filter(
        request__account_sid=account_sid,
        status=Decision.Status.SENT,
        finished_at__gte=since,
        rule__isnull=True,
    )
    counts = (
        sent.values("decided_by__username")
        .annotate(
            approved=Count("pk", filter=Q(action=Decision.Action.APPROVE)),
            rejected=Count("pk", filter=Q(action=Decision.Action.REJECT)),
        )
        .order_by("decided_by__username")
    )
    waits: dict[str, list[float]] = {}
    rows = sent.filter(request__date_placed__isnull=False).values_list(
        "decided_by__username", "finished_at", "request__date_placed"
    )
    for name, finished, placed in rows.iterator(chunk_size=5000):
        waits.setdefault(name, []).append((finished - placed).total_seconds() / 3600)
    return [
        ReviewerStats(
            name=row["decided_by__username"],
            approved=row["approved"],
            rejected=row["rejected"],
            median_hours=statistics.median(waits[row["decided_by__username"]])
            if waits.get(row["decided_by__username"])
            else None,
        )
        for row in counts
    ]


@dataclass(frozen=True)
class RuleStats:
    rule_id: int
    name: str
    approved: int
    rejected: int
    accepted_suggestions: int

    @property
    def total(self) -> int:
        return self.approved + self.rejected


def rule_stats(account_sid: str, *, since: datetime) -> list[RuleStats]:
    """Per rule since a date: the decisions it sent itself, and how many of its suggestions a
    person confirmed (those count as the person's decisions too)."""
    sent = Decision.objects.filter(
        request__account_sid=account_sid, status=Decision.Status.SENT, finished_at__gte=since
    )
    own = {
        row["rule"]: row
        for row in sent.filter(rule__isnull=False)
        .values("rule")
        .annotate(
            approved=Count("pk", filter=Q(action=Decision.Action.APPROVE)),
            rejected=Count("pk", filter=Q(action=Decision.Action.REJECT)),
        )
        .order_by()
    }
    accepted = dict(
        sent.filter(suggested_by__isnull=False)
        .values("suggested_by")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("suggested_by", "n")
    )
    named = Rule.objects.filter(pk__in={*own, *accepted}).order_by("position", "pk")
    return [
        RuleStats(
            rule.pk,
            rule.name,
            own.get(rule.pk, {}).get("approved", 0),
            own.get(rule.pk, {}).get("rejected", 0),
            accepted.get(rule.pk, 0),
        )
        for rule in named
    ]


def open_by_age(account_sid: str, *, now: datetime | None = None) -> list[tuple[str, int]]:
    """Open requests bucketed by how long ago they were placed, in one query."""
    now = now or timezone.now()
    filters = {}
    for index, (_, young, old) in enumerate(AGE_BUCKETS):
        q = Q(date_placed__lte=now - young)
        if old is not None:
            q &= Q(date_placed__gt=now - old)
        filters[f"b{index}"] = Count("pk", filter=q)
    counts = (
        TrackingValueRequest.objects.open().filter(account_sid=account_sid).aggregate(**filters)
    )
    return [(label, counts[f"b{index}"]) for index, (label, _, _) in enumerate(AGE_BUCKETS)]


def median_decision_hours(account_sid: str, *, since: datetime) -> float | None:
    waits = (
        Decision.objects.filter(
            request__account_sid=account_sid,
            status=Decision.Status.SENT,
            finished_at__gte=since,
            request__date_placed__isnull=False,
            rule__isnull=True,  # people's decisions: a rule's take no reviewer's time
        )
        .annotate(wait=F("finished_at") - F("request__date_placed"))
        .values_list("wait", flat=True)
    )
    hours = [w.total_seconds() / 3600 for w in waits.iterator(chunk_size=5000)]
    return statistics.median(hours) if hours else None


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | float
    x: float
    y: float
    width: float
    height: float


def bars(
    data: Sequence[tuple[str, int | float]],
    *,
    width: int = 360,
    height: int = 140,
    gap: int = 8,
    peak: float | None = None,
) -> list[Bar]:
    """Geometry for a vertical bar chart drawn server-side as SVG (values scaled to `peak`,
    by default the largest: a share passes 100)."""
    if not data:
        return []
    peak = peak or max(value for _, value in data) or 1
    slot = width / len(data)
    return [
        Bar(
            label=label,
            value=value,
            x=round(index * slot + gap / 2, 2),
            y=round(height - value / peak * height, 2),
            width=round(slot - gap, 2),
            height=round(value / peak * height, 2),
        )
        for index, (label, value) in enumerate(data)
    ]
