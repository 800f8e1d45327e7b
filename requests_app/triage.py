"""Triage: the list a reviewer came from travels with them (a `list` parameter holding the
list's own query string), and after a decision the same list's next open request opens."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef
from django.http import QueryDict

from requests_app import queues
from requests_app.forms import SORTS, FilterForm, filtered
from requests_app.models import Account, Decision, TrackingValueRequest
from requests_app.paging import cursor_for, keyset_page

# The list's filters, queue and sort: what makes "the same list" (never its page cursors).
LIST_FIELDS = tuple(FilterForm.base_fields)
MAX_LIST_QUERY = 1000


def list_filters(raw: str) -> QueryDict:
    """The filters of the list a `list` parameter names, only those the list knows (one
    value each), so nothing else rides along to the detail page and back."""
    given = QueryDict(raw[:MAX_LIST_QUERY])
    kept = QueryDict(mutable=True)
    for name in LIST_FIELDS:
        value = given.get(name, "")
        if value:
            kept[name] = value
    return kept


def list_label(filters: QueryDict) -> str:
    """What to call that list in a link back to it: its queue, else "Requests"."""
    return dict(queues.QUEUES).get(filters.get("queue", ""), "Requests")


def next_open(
    *,
    current: TrackingValueRequest,
    filters: QueryDict,
    user: Any,
    account: Account,
    choices: dict[str, list],
) -> TrackingValueRequest | None:
    """The open request after `current` in the list `filters` describe (its filters, queue
    and sort), else the first one before it. A request with a live decision (queued, sending,
    being checked or sent) counts as decided: it is skipped."""
    form = FilterForm(filters, choices=choices)
    live = Decision.objects.filter(request=OuterRef("pk"), status__in=Decision.LIVE)
    rows = (
        filtered(TrackingValueRequest.objects.for_account(account.sid), form.filters(), user)
        .filter(state="NEW", is_gone=False)
        .exclude(pk=current.pk)
        .exclude(Exists(live))
        .only("pk", "impact_id", *(column for _, column, _ in SORTS.values()))
    )
    _, column, descending = SORTS[form.active_sort]
    after = keyset_page(
        rows, column, descending=descending, after=cursor_for(current, column), size=1
    )
    if after.rows:
        return after.rows[0]
    first = keyset_page(rows, column, descending=descending, size=1)
    return first.rows[0] if first.rows else None
