"""Small template helpers: relative due dates, audit wording, JSON-free labels."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from django import template
from django.forms import BoundField
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from requests_app.models import AuditEvent, RequestType, State

register = template.Library()


@register.simple_tag
def select(field: BoundField) -> SafeString:
    """A choice field's <select>, built in one pass.

    Django's widget renders every option through its own template; with a few hundred deals
    and partners in the filter bar that was most of the list page's time.
    """
    if not isinstance(field, BoundField):  # like {{ form.x }} without a form: nothing
        return SafeString("")
    value = field.value()
    chosen = "" if value is None else str(value)
    # The standard library's escape (the same five characters as Django's): format_html per
    # option was still most of the tag's time with a few hundred options.
    options = "".join(
        f'<option value="{escape(str(key))}"{" selected" if str(key) == chosen else ""}>'
        f"{escape(str(label))}</option>"
        for key, label in field.field.choices
    )
    name, auto_id = escape(field.html_name), escape(str(field.auto_id))
    return SafeString(f'<select name="{name}" id="{auto_id}">{options}</select>')


@register.simple_tag
def audit_rows(events: list) -> SafeString:
    """The audit table's rows, built in one pass with the standard library's escape (the same
    five characters Django's escapes). A page shows a hundred events; through the template
    language their two dozen tags each were most of the page's time."""
    detail = _detail_prefix()
    zone = timezone.get_current_timezone()
    outcomes = {value: str(label) for value, label in AuditEvent.Outcome.choices}
    rows = []
    for e in events:
        when = e.created_at.astimezone(zone)
        rid = e.request_impact_id
        link = f'<a href="{_href(detail, rid)}">{escape(rid)}</a>' if rid else ""
        sent = "".join(f"{escape(k)}=<code>{escape(v)}</code> " for k, v in pairs(e.sent))
        status = f"{e.response_status} " if e.response_status else ""
        message = e.response_message
        answer = escape(Truncator(message).chars(120) if len(message) > 120 else message)
        rows.append(
            f'<tr><td><time datetime="{when.isoformat()}">{when:%Y-%m-%d %H:%M:%S}</time></td>'
            f"<td>{escape(e.actor_name or 'system')}</td><td>{escape(e.action)}</td>"
            f'<td><span class="outcome-{escape(e.outcome)}">'
            f"{escape(outcomes.get(e.outcome, e.outcome))}</span></td><td>{link}</td>"
            f'<td class="small">{sent}</td><td class="small">{status}{answer}</td></tr>'
        )
    return SafeString("\n".join(rows))


@register.simple_tag
def request_rows(rows: list, can_decide: bool) -> SafeString:
    """The request list's rows, built in one pass like audit_rows: through the template
    language, 50 rows of a dozen tags each were most of the list page's time."""
    detail = _detail_prefix()
    types = {value: str(label) for value, label in RequestType.choices}
    states = {value: str(label) for value, label in State.choices}
    out = []
    for r in rows:
        rid = escape(r.impact_id)
        is_open, overdue, soon = r.is_open, r.is_overdue, r.is_due_soon
        check = ""
        if can_decide:
            box = (
                f'<input type="checkbox" name="ids" value="{rid}" form="bulk" '
                f'aria-label="Select request {rid}">'
                if is_open
                else ""
            )
            check = f'<td class="check">{box}</td>'
        badge = ""
        if is_open and r.date_needed:
            mark = " is-overdue" if overdue else " is-soon" if soon else ""
            badge = f'<span class="due{mark}">{escape(due(r.date_needed, r.state))}</span>'
        holder = r.assigned_to.get_username() if r.assigned_to_id else ""
        number = "" if r.number_requested is None else r.number_requested
        out.append(
            f'<tr class="row{" overdue" if overdue else " due-soon" if soon else ""}" data-row '
            f'data-id="{rid}">{check}'
            f'<td><a href="{_href(detail, r.impact_id)}" data-open>{rid}</a></td>'
            f'<td class="clip" title="{escape(r.media_partner_name)}">'
            f"{escape(r.media_partner_name)}</td>"
            f'<td class="clip">{escape(r.campaign_name)}</td>'
            f'<td><span class="type type-{escape(r.request_type.lower())}">'
            f"{escape(types.get(r.request_type, r.request_type))}</span></td>"
            f'<td class="num">{escape(str(number))}</td>'
            f'<td class="clip" title="{escape(r.deal_name)}">{escape(r.deal_name or "—")}</td>'
            f'<td><span class="state state-{escape(r.state.lower())}">'
            f"{escape(states.get(r.state, r.state))}</span></td>"
            f"<td>{_time(r.date_placed)}</td>"
            f'<td class="needed">{_time(r.date_needed)}{badge}</td>'
            f"<td>{escape(holder)}</td></tr>"
        )
    return SafeString("\n".join(out))


def _detail_prefix() -> str:
    """'/r/' as reverse() spells it (behind any script prefix); the id and '/' follow."""
    return reverse("requests:detail", args=["0"])[:-2]


def _href(detail: str, impact_id: str) -> str:
    """A request's detail URL, from the prefix reverse() gave once for the whole table."""
    return escape(f"{detail}{quote(impact_id, safe='')}/")


def _time(value: datetime | None) -> str:
    """<time> with the day as the list shows it ('Nov 25'), in the viewer's time zone."""
    if value is None:
        return '<time datetime=""></time>'
    local = timezone.localtime(value)
    return f'<time datetime="{local.isoformat()}">{dateformat.format(local, "M j")}</time>'


@register.filter
def due(value: datetime | None, state: str = "NEW") -> str:
    """'in 3 days', 'today', '2 days overdue' (overdue only matters while a request is open)."""
    if value is None:
        return ""
    today = timezone.localdate()
    days = (timezone.localdate(value) - today).days
    if days == 0:
        return "due today" if state == "NEW" else "today"
    if days > 0:
        return f"in {days} day{'s' if days != 1 else ''}"
    if state == "NEW":
        return f"{-days} day{'s' if days != -1 else ''} overdue"
    return f"{-days} day{'s' if days != -1 else ''} ago"


ACTIONS = {
    "approve": "approved",
    "reject": "rejected",
    "approve_queued": "queued an approval",
    "reject_queued": "queued a rejection",
    "approve_undone": "undid an approval",
    "reject_undone": "undid a rejection",
    "claim": "claimed it",
    "release": "released it",
    "assign": "assigned it",
    "comment": "commented",
    "sync": "synced",
    "sign_in": "signed in",
    "sign_out": "signed out",
    "sign_in_failed": "failed to sign in",
    "placed": "placed the request",
    "synced": "first synced from impact.com",
    "completed": "marked it",
}


@register.filter
def action_words(action: str) -> str:
    return ACTIONS.get(action, action.replace("_", " "))


@register.filter
def pairs(mapping: dict | None) -> list[tuple[str, str]]:
    """A dict as sorted (key, value) pairs for display; values shown as text."""
    if not isinstance(mapping, dict):
        return []
    return [(str(k), "" if v is None else str(v)) for k, v in sorted(mapping.items())]


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template (dict lookups with a variable key)."""
    try:
        return mapping[key]
    except (KeyError, TypeError, IndexError):
        return ""
