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

from requests_app import presenters
from requests_app.models import AuditEvent

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
    zone = timezone.get_current_timezone()
    return presenters.due_words(value, state, timezone.localdate(), zone)


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
