"""Keyset pagination: deep pages cost the same as the first, unlike OFFSET.

The cursor is the (sort value, id) of the row at the edge of the page. NULL sorts as the
largest value on both databases (ASC NULLS LAST / DESC NULLS FIRST), which is also the order
an ordinary B-tree index walks, so every page is an index range scan.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str
    prev_cursor: str

    @property
    def is_first(self) -> bool:
        return not self.prev_cursor


def _encode(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int] | None:
    """The cursor's (value, id), or None for anything that is not a cursor we made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        if not isinstance(pk, int) or not isinstance(value, str | datetime | type(None)):
            return None
        return value, pk
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None


def _order(column: str, descending: bool) -> list[Any]:
    if descending:
        return [F(column).desc(nulls_first=True), F("pk").desc()]
    return [F(column).asc(nulls_last=True), F("pk").asc()]


def _beyond(column: str, value: Any, pk: int, *, larger: bool) -> Q:
    """Rows after (value, pk) in ascending order (larger) or before it (not larger)."""
    if value is None:  # NULL is the largest value
        if larger:
            return Q(**{f"{column}__isnull": True, "pk__gt": pk})
        return Q(**{f"{column}__isnull": False}) | Q(**{f"{column}__isnull": True, "pk__lt": pk})
    if larger:
        return (
            Q(**{f"{column}__gt": value})
            | Q(**{column: value, "pk__gt": pk})
            | Q(**{f"{column}__isnull": True})
        )
    return Q(**{f"{column}__lt": value}) | Q(**{column: value, "pk__lt": pk})


def keyset_page(
    rows: QuerySet,
    column: str,
    *,
    descending: bool,
    after: str = "",
    before: str = "",
    size: int = 50,
) -> Page:
    """One page of `rows` ordered by `column` then id, after or before a cursor."""
    cursor = _decode(before) if before else _decode(after) if after else None
    going_back = bool(before) and cursor is not None
    if cursor is not None:
        value, pk = cursor
        # Forward in a descending list means towards smaller values, and vice versa.
        larger = descending == going_back
        rows = rows.filter(_beyond(column, value, pk, larger=larger))
    ordered = rows.order_by(*_order(column, descending != going_back))
    found = list(ordered[: size + 1])
    more = len(found) > size
    found = found[:size]
    if going_back:
        found.reverse()
    if not found:
        return Page([], "", "")
    first, last = found[0], found[-1]
    has_next = more if not going_back else True
    has_prev = (cursor is not None) if not going_back else more
    return Page(
        found,
        _encode(getattr(last, column), last.pk) if has_next else "",
        _encode(getattr(first, column), first.pk) if has_prev else "",
    )
