"""Small template helpers: relative due dates, audit wording, JSON-free labels."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.forms import BoundField
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

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
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (key, " selected" if str(key) == chosen else "", label)
            for key, label in field.field.choices
        ),
    )
    return format_html(
        '<select name="{}" id="{}">{}</select>', field.html_name, field.auto_id, options
    )


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
