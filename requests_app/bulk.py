"""The sync's bulk writer: the one module allowed a database's own bulk path.

Per page, a few statements with few placeholders, whatever the page size:
- which of the page's requests are new, changed or older than the row we have: one statement
  given the page's ids and fingerprints as one JSON object, which sends back only the rows
  that differ (on PostgreSQL it also remembers the ids);
- the new and changed rows only, upserted with a guard that an older answer never overwrites a
  newer row (PostgreSQL: COPY into a temporary table, then one INSERT ... SELECT ... ON
  CONFLICT DO UPDATE ... WHERE; SQLite: the same upsert with multi-row VALUES, a few hundred
  rows a statement). Unchanged rows are never written;
- the ids a sync has seen go into a temporary table (`SeenIds`), so "gone" is the difference
  at the end of a complete walk and memory stays flat at any number of requests.

Every value is converted by its model field's own `get_db_prep_value`, except the payload,
which goes in as its canonical JSON text (the same document; the tests compare both ways of
storing it, and every field of the model).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any

import orjson
from django.db import connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from requests_app.models import TrackingValueRequest

MODEL = TrackingValueRequest
# Columns a sync writes; `first_seen_at` only on insert. Everything else (the id, the
# assignment) is ours and never touched by a sync.
KEY = ("account_sid", "impact_id")
UPDATED = (
    "campaign_id",
    "campaign_name",
    "media_partner_id",
    "media_partner_name",
    "request_type",
    "state",
    "number_requested",
    "date_placed",
    "date_needed",
    "date_completed",
    "deal_id",
    "deal_name",
    "deal_type",
    "deal_state",
    "requested_value",
    "approved_value",
    "additional_instructions",
    "search_text",
    "payload",
    "payload_hash",
    "last_seen_at",
    "fetched_at",
    "is_gone",
    "sla_due_at",
)
COLUMNS = (*KEY, "first_seen_at", *UPDATED)
# Columns whose values many requests share: converted once per distinct value in a page.
REPEATING = frozenset(
    {
        "account_sid", "campaign_id", "campaign_name", "media_partner_id",
        "media_partner_name", "request_type", "state", "number_requested", "deal_id",
        "deal_name", "deal_type", "deal_state", "additional_instructions", "first_seen_at",
        "last_seen_at", "fetched_at", "is_gone",
    }
)  # fmt: skip
SEEN_TABLE = "tvr_sync_seen"
STAGE_TABLE = "tvr_sync_stage"


def _connection():
    return connections[MODEL.objects.db]


class Difference(StrEnum):
    """How a page's request differs from the row we hold."""

    NEW = "new"  # we hold no row
    CHANGED = "changed"  # another fingerprint, or the row was marked gone
    NEWER = "newer"  # the row holds a later answer than the page: left alone


def differing(
    account_sid: str,
    digests: dict[str, str],
    fetched_at: datetime,
    seen: SeenIds | None = None,
) -> dict[str, Difference]:
    """The page's requests that we do not already hold unchanged, and how they differ; the
    page's ids go into `seen`. One statement compares the fingerprints beside the unique index
    and sends back only what differs (nothing, on a re-sync of an unchanged page)."""
    connection = _connection()
    quote = connection.ops.quote_name
    table = quote(MODEL._meta.db_table)
    stamp = MODEL._meta.get_field("fetched_at").get_db_prep_value(fetched_at, connection)
    # The page goes as one JSON object of id -> fingerprint: encoded in C, read by the database
    # in well under a millisecond (two arrays of 1,000 strings cost psycopg a few in Python;
    # the ORM's chunks of ids cost SQLite's path three times that).
    page = orjson.dumps(digests).decode()
    t = {name: f"t.{quote(name)}" for name in ("id", "payload_hash", "fetched_at", "is_gone")}
    compare = (
        f"SELECT page.impact_id, CASE WHEN {t['id']} IS NULL THEN '{Difference.NEW}' "
        f"WHEN {t['fetched_at']} > %s THEN '{Difference.NEWER}' "
        f"ELSE '{Difference.CHANGED}' END FROM page LEFT JOIN {table} t "
        f"ON t.{quote('account_sid')} = page.account_sid AND t.{quote('impact_id')} = "
        f"page.impact_id WHERE {t['id']} IS NULL OR {t['payload_hash']} <> page.hash "
        f"OR {t['is_gone']} OR {t['fetched_at']} > %s"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The account comes from the page, not as a constant: statistics taken before a
            # new account had rows say it has none, and a constant then steers the planner into
            # reading the whole account for every page. Joined on both columns, each id is one
            # probe of the unique index, whatever the statistics say.
            remember = f", seen AS (INSERT INTO {SEEN_TABLE} SELECT impact_id FROM page)"
            cursor.execute(
                "WITH page AS MATERIALIZED (SELECT p.key AS impact_id, p.value AS hash, "
                "%s::varchar AS account_sid FROM jsonb_each_text(%s::jsonb) AS p)"
                + (remember if seen is not None else "")
                + f" {compare}",
                [account_sid, page, stamp, stamp],
            )
        else:
            cursor.execute(
                "WITH page AS (SELECT key AS impact_id, value AS hash, %s AS account_sid "
                f"FROM json_each(%s)) {compare}",
                [account_sid, page, stamp, stamp],
            )
        found = {impact_id: Difference(how) for impact_id, how in cursor.fetchall()}
    if seen is not None and connection.vendor != "postgresql":
        seen.add(list(digests))
    return found


def _set(column: str, table: str, quote: Callable[[str], str]) -> str:
    """An updated column takes the new value; a decided request keeps the deadline it was
    decided against (sla.py: targets changed later do not rewrite past attainment)."""
    if column == "sla_due_at":
        return (
            f"{quote(column)} = CASE WHEN excluded.{quote('state')} = 'NEW' "
            f"OR {quote(table)}.{quote(column)} IS NULL THEN excluded.{quote(column)} "
            f"ELSE {quote(table)}.{quote(column)} END"
        )
    return f"{quote(column)} = excluded.{quote(column)}"


def upsert(rows: Iterable[dict[str, Any]], *, payload_text: Sequence[str]) -> None:
    """Insert or update whole rows (each a dict of COLUMNS; the payload given as its JSON text,
    in the same order), never overwriting a row impact.com answered for later."""
    connection = _connection()
    prepared = list(_prepared(rows, payload_text, connection))
    if not prepared:
        return
    table, quote = MODEL._meta.db_table, connection.ops.quote_name
    columns = ", ".join(quote(c) for c in COLUMNS)
    on_conflict = (
        f" ON CONFLICT ({', '.join(quote(c) for c in KEY)}) DO UPDATE SET "
        + ", ".join(_set(c, table, quote) for c in UPDATED)
        + f" WHERE {quote(table)}.{quote('fetched_at')} <= excluded.{quote('fetched_at')}"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _stage(cursor, connection, prepared)
            cursor.execute(
                f"INSERT INTO {quote(table)} ({columns}) "
                f"SELECT {columns} FROM {STAGE_TABLE}" + on_conflict
            )
            cursor.execute(f"TRUNCATE {STAGE_TABLE}")
        else:
            # Multi-row VALUES, a few hundred rows a statement: measured twice as fast as
            # executemany's statement per row on SQLite.
            one = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
            limit = connection.features.max_query_params or 999
            per_statement = max(1, min(500, limit // len(COLUMNS)))
            for start in range(0, len(prepared), per_statement):
                batch = prepared[start : start + per_statement]
                cursor.execute(
                    f"INSERT INTO {quote(table)} ({columns}) VALUES "
                    + ", ".join([one] * len(batch))
                    + on_conflict,
                    [value for row in batch for value in row],
                )


def _prepared(
    rows: Iterable[dict[str, Any]], payload_text: Sequence[str], connection: Any
) -> Iterator[list[Any]]:
    """Each row's values through their fields' get_db_prep_value. Columns whose values repeat
    across requests (the account, campaigns, partners, states, the page's timestamps) convert
    each distinct value once per page."""
    converters = []
    for name in COLUMNS:
        field = MODEL._meta.get_field(name)
        if name == "payload":
            converters.append((name, None))
        elif name in REPEATING:
            converters.append((name, _once_per_value(field, connection)))
        else:
            converters.append((name, partial(field.get_db_prep_value, connection=connection)))
    for values, text in zip(rows, payload_text, strict=True):
        yield [text if convert is None else convert(values[name]) for name, convert in converters]


def _once_per_value(field: Any, connection: Any) -> Callable[[Any], Any]:
    """The field's conversion, remembered per value (and type: 1, 1.0 and True are equal)."""
    memo: dict[tuple[type, Any], Any] = {}

    def convert(value: Any) -> Any:
        key = (type(value), value)
        try:
            return memo[key]
        except KeyError:
            memo[key] = converted = field.get_db_prep_value(value, connection, prepared=False)
            return converted

    return convert


def _stage(cursor: Any, connection: Any, rows: list[list[Any]]) -> None:
    """COPY the rows into a temporary table shaped like the model's columns."""
    fields = [MODEL._meta.get_field(name) for name in COLUMNS]
    quote = connection.ops.quote_name
    definition = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} ({definition})")
    columns = ", ".join(quote(c) for c in COLUMNS)
    # psycopg's COPY, on the driver cursor Django's cursor wraps.
    with cursor.cursor.copy(f"COPY {STAGE_TABLE} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class SeenIds:
    """The ids one sync has seen, in a temporary table of its own connection.

    Unkeyed while a walk adds to it (a key costs every page; a request met twice, moving
    between pages, is counted once at the end), then indexed once before "gone" is asked, so
    that is an anti-join probing the index for each of the account's rows: a plan that stays
    linear whatever the planner believes. Without the index, a new account's first full sync
    (statistics that still say the account has no rows) was planned as a nested loop over the
    account for every row: 42 s for 10,000 requests, quadratic beyond."""

    def __enter__(self) -> SeenIds:
        with _connection().cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SEEN_TABLE}")
            cursor.execute(f"CREATE TEMP TABLE {SEEN_TABLE} (impact_id varchar(32))")
        return self

    def __exit__(self, *exc_info: object) -> None:
        with _connection().cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SEEN_TABLE}")

    def add(self, ids: Sequence[str]) -> None:
        connection = _connection()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"INSERT INTO {SEEN_TABLE} SELECT unnest(%s::varchar[])", [list(ids)]
                )
            else:
                cursor.execute(
                    f"INSERT INTO {SEEN_TABLE} SELECT value FROM json_each(%s)",
                    [orjson.dumps(list(ids)).decode()],
                )

    def count(self) -> int:
        with _connection().cursor() as cursor:
            cursor.execute(f"SELECT count(DISTINCT impact_id) FROM {SEEN_TABLE}")
            return cursor.fetchone()[0]

    def unseen(self, account_sid: str):
        """The account's live rows this sync did not see, as a queryset."""
        connection = _connection()
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {SEEN_TABLE}_id ON {SEEN_TABLE} (impact_id)"
            )
            if connection.vendor == "postgresql":
                # Autovacuum never analyses a temporary table.
                cursor.execute(f"ANALYZE {SEEN_TABLE}")
        table = connection.ops.quote_name(MODEL._meta.db_table)
        not_seen = RawSQL(
            f"NOT EXISTS (SELECT 1 FROM {SEEN_TABLE} WHERE {SEEN_TABLE}.impact_id = "
            f"{table}.{connection.ops.quote_name('impact_id')})",
            (),
            output_field=BooleanField(),
        )
        return MODEL.objects.filter(not_seen, account_sid=account_sid, is_gone=False)
