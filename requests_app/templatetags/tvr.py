"""Small template filters: relative due dates, audit wording, sorted pairs, keyed lookups.

No markup is built here: rows and form fields are rendered by templates and widgets."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from requests_app import presenters

register = template.Library()


@register.filter
def due(value: datetime | None, state: str = "NEW") -> str:
    """'in 3 days', 'today', '2 days overdue' (overdue only matters while a request is open)."""
    zone = timezone.get_current_timezone()
    return presenters.due_words(value, state, timezone.localdate(), zone)


# The audit's words, and the timeline's own kinds of event.
ACTIONS = presenters.ACTION_WORDS | {
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
    return presenters.pairs(mapping)


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template (dict lookups with a variable key)."""
    try:
        return mapping[key]
    except (KeyError, TypeError, IndexError):
        return ""
