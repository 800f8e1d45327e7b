"""What a row of the request list and of the audit trail shows: pure functions, no I/O.

The templates loop over these and only print them (`{% for row in rows %}`); computing a row's
marks, labels and local times here keeps the logic out of the template and the template's work
per row small. The time zone and the clock are arguments, so each function is a plain function
of its input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.utils.dates import MONTHS_3
from django.utils.text import Truncator

from requests_app.models import AuditEvent, RequestType, State

_TYPES = dict(RequestType.choices)
_STATES = dict(State.choices)
_OUTCOMES = dict(AuditEvent.Outcome.choices)


def local_day(value: datetime, zone: tzinfo) -> str:
    """The day as the list shows it, 'Nov 25' (Django's "M j"), in zone."""
    return _iso_and_day(value, zone)[1]


def _iso_and_day(value: datetime | None, zone: tzinfo) -> tuple[str, str]:
    """value in zone: its ISO form (for <time datetime>) and its day, 'Nov 25'; empty for None."""
    if value is None:
        return "", ""
    local = value.astimezone(zone)
    return local.isoformat(), f"{str(MONTHS_3[local.month]).title()} {local.day}"


def due_words(value: datetime | None, state: str, today: date, zone: tzinfo) -> str:
    """'in 3 days', 'due today', '2 days overdue' (overdue only while a request is open)."""
    if value is None:
        return ""
    days = (value.astimezone(zone).date() - today).days
    plural = "s" if abs(days) != 1 else ""
    if days == 0:
        return "due today" if state == State.NEW else "today"
    if days > 0:
        return f"in {days} day{plural}"
    return f"{-days} day{plural} {'overdue' if state == State.NEW else 'ago'}"


@dataclass(frozen=True, slots=True)
class RequestRow:
    """One row of the request list: each field is what one spot of the row prints."""

    impact_id: str
    row_class: str  # "row", "row overdue" or "row due-soon"
    mark: str  # "overdue", "due-soon" or ""
    partner: str
    campaign: str
    type_class: str  # "type type-promocode_tracking"
    type_label: str
    number: str
    deal: str
    deal_text: str  # the deal's name, or a dash
    state_class: str
    state_label: str
    placed_iso: str  # for <time datetime>; "" without a date
    placed_day: str  # "Nov 23"
    needed_iso: str
    needed_day: str
    due: str  # "in 3 days": only while the request is open and has a date needed
    due_class: str
    breach: str  # "5 h left", "breached 2 h ago": only while open and with a deadline
    breach_class: str  # "breach", "breach is-breached" or "breach is-soon"
    holder: str
    selectable: bool  # open: it can be ticked for a bulk reject


# A request whose decision is on its way (the list reads it as `live_action`/`live_status`).
_PENDING = {
    ("approve", "queued"): "Approval queued",
    ("reject", "queued"): "Rejection queued",
    ("approve", "sending"): "Approving…",
    ("reject", "sending"): "Rejecting…",
    ("approve", "unconfirmed"): "Approval being checked",
    ("reject", "unconfirmed"): "Rejection being checked",
    ("approve", "sent"): "Approved",
    ("reject", "sent"): "Declined",
}


WARN = timedelta(hours=4)  # TVR_SLA_WARN_HOURS' default


def request_row(
    request: Any, *, now: datetime, zone: tzinfo, soon: timedelta, warn: timedelta = WARN
) -> RequestRow:
    """What the list shows of one cached request (a row with the list's columns, its holder's
    `assigned_to__username` and its live decision's `live_action`/`live_status`), as seen at
    `now` in `zone`, "due soon" meaning within `soon`, about to breach its deadline within
    `warn`."""
    is_open = request.state == State.NEW and not request.is_gone
    placed, needed = request.date_placed, request.date_needed
    mark = ""
    if is_open and needed is not None:
        if needed < now:
            mark = "overdue"
        elif needed <= now + soon:
            mark = "due-soon"
    due = ""
    if is_open and needed is not None:
        due = due_words(needed, request.state, now.astimezone(zone).date(), zone)
    number = request.number_requested
    # Open here but decided: queued, being sent or checked, or sent before the cache caught up.
    live = (request.live_action, request.live_status)
    pending = _PENDING.get(live) if is_open else None
    placed_iso, placed_day = _iso_and_day(placed, zone)
    needed_iso, needed_day = _iso_and_day(needed, zone)
    return RequestRow(
        impact_id=request.impact_id,
        row_class="row is-decided" if pending else f"row {mark}" if mark else "row",
        mark=mark,
        partner=request.media_partner_name,
        campaign=request.campaign_name,
        type_class=f"type type-{request.request_type.lower()}",
        type_label=_TYPES.get(request.request_type, request.request_type),
        number="" if number is None else str(number),
        deal=request.deal_name,
        deal_text=request.deal_name or "—",
        state_class="state state-pending" if pending else f"state state-{request.state.lower()}",
        state_label=pending or _STATES.get(request.state, request.state),
        placed_iso=placed_iso,
        placed_day=placed_day,
        needed_iso=needed_iso,
        needed_day=needed_day,
        due=due,
        due_class={"overdue": "due is-overdue", "due-soon": "due is-soon"}.get(mark, "due"),
        holder=request.assigned_to__username or "",
        selectable=is_open and not pending,
        **_breach(request.sla_due_at if is_open else None, now, warn),
    )


def breach_words(left: timedelta) -> str:
    """ "3 d 4 h", "5 h 20 m", "12 m": a time to or since a deadline, to the minute."""
    minutes = int(abs(left).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} m" if hours else f"{minutes} m"


def _breach(due: datetime | None, now: datetime, warn: timedelta) -> dict[str, str]:
    if due is None:
        return {"breach": "", "breach_class": "breach"}
    if due < now:
        return {
            "breach": f"breached {breach_words(now - due)} ago",
            "breach_class": "breach is-breached",
        }
    words = f"{breach_words(due - now)} left"
    return {"breach": words, "breach_class": "breach is-soon" if due - now <= warn else "breach"}


def request_rows(
    requests: Iterable[Any],
    *,
    now: datetime,
    zone: tzinfo,
    soon: timedelta,
    warn: timedelta = WARN,
) -> list[RequestRow]:
    return [request_row(r, now=now, zone=zone, soon=soon, warn=warn) for r in requests]


# What each audit action says, after the person's name: "alice queued an approval".
ACTION_WORDS = {
    "approve": "approved",
    "reject": "rejected",
    "approve_queued": "queued an approval",
    "reject_queued": "queued a rejection",
    "approve_undone": "undid an approval",
    "reject_undone": "undid a rejection",
    "approve_settled": "approval settled",
    "reject_settled": "rejection settled",
    "claim": "claimed it",
    "release": "released it",
    "assign": "assigned it",
    "comment": "commented",
    "sync": "synced",
    "sign_in": "signed in",
    "sign_out": "signed out",
    "sign_in_failed": "failed to sign in",
    "rule_saved": "saved a rule",
    "rule_enabled": "enabled a rule",
    "rule_disabled": "turned a rule off",
    "rule_moved": "moved a rule",
    "rule_deleted": "deleted a rule",
    "rules_stopped": "stopped every rule",
    "rules_resumed": "resumed the rules",
}

# What became of a queued decision, said on its "queued" row (its status now).
QUEUED_OUTCOMES = {
    "queued": "still queued",
    "sending": "being sent",
    "unconfirmed": "sent, being checked with impact.com",
    "sent": "then {verb} in impact.com",
    "failed": "then failed",
    "undone": "then undone, nothing sent",
}


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " "))


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One row of the audit trail."""

    when_iso: str
    when_text: str  # "2026-11-25 18:30:00", in the viewer's time zone
    who: str
    action: str  # in words: "queued an approval"
    outcome: str  # the code, for its CSS class
    outcome_label: str
    request_id: str
    sent: list[tuple[str, str]]
    answer: str  # impact.com's status and message, the message cut at 120 characters
    final: str = ""  # a queued decision's fate: "then undone, nothing sent"


def pairs(mapping: Any) -> list[tuple[str, str]]:
    """A dict as sorted (key, value) pairs of text; anything else as none."""
    if not isinstance(mapping, Mapping):
        return []
    return [(str(k), "" if v is None else str(v)) for k, v in sorted(mapping.items())]


def audit_row(event: Any, *, zone: tzinfo, final_status: str | None = None) -> AuditRow:
    """What the audit page shows of one event (an AuditEvent or a row with its fields);
    final_status is, for a queued decision's event, that decision's status now."""
    message = event.response_message or ""
    if len(message) > 120:
        message = Truncator(message).chars(120)
    status = f"{event.response_status} " if event.response_status else ""
    when = event.created_at.astimezone(zone)
    return AuditRow(
        when_iso=when.isoformat(),
        when_text=when.strftime("%Y-%m-%d %H:%M:%S"),
        who=event.actor_name or "system",
        action=action_words(event.action),
        outcome=event.outcome,
        outcome_label=_OUTCOMES.get(event.outcome, event.outcome),
        request_id=event.request_impact_id,
        sent=pairs(event.sent),
        answer=f"{status}{message}",
        final=QUEUED_OUTCOMES.get(final_status or "", "").format(
            verb=action_words(event.action.removesuffix("_queued"))
        ),
    )


def audit_rows(
    events: Iterable[Any], *, zone: tzinfo, finals: Mapping[int, str] | None = None
) -> list[AuditRow]:
    """The rows; finals maps a decision's id to its status, said on its queued event (one
    with `detail__decision`)."""
    finals = finals or {}

    def final(event: Any) -> str | None:
        if not event.action.endswith("_queued"):
            return None
        return finals.get(getattr(event, "detail__decision", None))

    return [audit_row(e, zone=zone, final_status=final(e)) for e in events]
