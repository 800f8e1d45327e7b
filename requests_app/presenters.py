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

from django.utils import dateformat
from django.utils.text import Truncator

from requests_app.models import AuditEvent, RequestType, State

_TYPES = dict(RequestType.choices)
_STATES = dict(State.choices)
_OUTCOMES = dict(AuditEvent.Outcome.choices)


@dataclass(frozen=True, slots=True)
class Moment:
    """A time as a row shows it: `iso` for <time datetime>, `text` for people."""

    iso: str = ""
    text: str = ""


def moment(value: datetime | None, zone: tzinfo, pattern: str = "M j") -> Moment:
    """value in zone, formatted with a Django date pattern ('Nov 25'); empty for None."""
    if value is None:
        return Moment()
    local = value.astimezone(zone)
    return Moment(local.isoformat(), dateformat.format(local, pattern))


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
    """One row of the request list."""

    impact_id: str
    partner: str
    campaign: str
    type_class: str  # "type-promocode_tracking": the CSS class of its type badge
    type_label: str
    number: int | None
    deal: str
    state_class: str
    state_label: str
    placed: Moment
    needed: Moment
    due: str  # shown only while the request is open and has a date needed
    mark: str  # "overdue", "due-soon" or ""
    holder: str
    selectable: bool  # open: it can be ticked for a bulk reject


def request_row(request: Any, *, now: datetime, zone: tzinfo, soon: timedelta) -> RequestRow:
    """What the list shows of one cached request (a TrackingValueRequest with the list's
    columns and its holder), as seen at `now` in `zone`, "due soon" meaning within `soon`."""
    is_open = request.state == State.NEW and not request.is_gone
    needed = request.date_needed
    mark = ""
    if is_open and needed is not None:
        if needed < now:
            mark = "overdue"
        elif needed <= now + soon:
            mark = "due-soon"
    today = now.astimezone(zone).date()
    return RequestRow(
        impact_id=request.impact_id,
        partner=request.media_partner_name,
        campaign=request.campaign_name,
        type_class=f"type-{request.request_type.lower()}",
        type_label=_TYPES.get(request.request_type, request.request_type),
        number=request.number_requested,
        deal=request.deal_name,
        state_class=f"state-{request.state.lower()}",
        state_label=_STATES.get(request.state, request.state),
        placed=moment(request.date_placed, zone),
        needed=moment(needed, zone),
        due=due_words(needed, request.state, today, zone) if is_open else "",
        mark=mark,
        holder=request.assigned_to.get_username() if request.assigned_to_id else "",
        selectable=is_open,
    )


def request_rows(
    requests: Iterable[Any], *, now: datetime, zone: tzinfo, soon: timedelta
) -> list[RequestRow]:
    return [request_row(r, now=now, zone=zone, soon=soon) for r in requests]


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One row of the audit trail."""

    when: Moment
    who: str
    action: str
    outcome: str  # the code, for its CSS class
    outcome_label: str
    request_id: str
    sent: list[tuple[str, str]]
    answer: str  # impact.com's status and message, the message cut at 120 characters


def pairs(mapping: Any) -> list[tuple[str, str]]:
    """A dict as sorted (key, value) pairs of text; anything else as none."""
    if not isinstance(mapping, Mapping):
        return []
    return [(str(k), "" if v is None else str(v)) for k, v in sorted(mapping.items())]


def audit_row(event: Any, *, zone: tzinfo) -> AuditRow:
    """What the audit page shows of one event (an AuditEvent or a row with its fields)."""
    message = event.response_message or ""
    if len(message) > 120:
        message = Truncator(message).chars(120)
    status = f"{event.response_status} " if event.response_status else ""
    return AuditRow(
        when=moment(event.created_at, zone, "Y-m-d H:i:s"),
        who=event.actor_name or "system",
        action=event.action,
        outcome=event.outcome,
        outcome_label=_OUTCOMES.get(event.outcome, event.outcome),
        request_id=event.request_impact_id,
        sent=pairs(event.sent),
        answer=f"{status}{message}",
    )


def audit_rows(events: Iterable[Any], *, zone: tzinfo) -> list[AuditRow]:
    return [audit_row(e, zone=zone) for e in events]
