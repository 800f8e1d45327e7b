"""Free-text search over cached requests, backed by a real index on both databases.

`search_text` (written by sync.py) holds the casefolded id, partner, campaign, deal name, codes
and instructions. PostgreSQL searches it with LIKE through a pg_trgm GIN index; SQLite through
an FTS5 table with the trigram tokenizer, kept in step by triggers. The FTS5 table keeps its own
copy of the text: checking a candidate then reads a short row, not a whole cached request.
FTS5 only answers a two-argument LIKE (no ESCAPE), so terms with a LIKE wildcard in them, like
terms shorter than three characters (too short for trigrams), scan the one column instead.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

TABLE = "requests_app_trackingvaluerequest"
FTS = "requests_app_tvr_search"

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS tvr_search_trgm ON {TABLE} USING gin (search_text gin_trgm_ops)",
]
SQLITE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
    "search_text, tokenize='trigram', detail='none')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_ai AFTER INSERT ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_ad AFTER DELETE ON {TABLE} BEGIN "
    f"DELETE FROM {FTS} WHERE rowid = old.id; END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_au AFTER UPDATE OF search_text ON {TABLE} BEGIN "
    f"UPDATE {FTS} SET search_text = new.search_text WHERE rowid = old.id; END",
]
SQLITE_FILL = f"INSERT INTO {FTS}(rowid, search_text) SELECT id, search_text FROM {TABLE}"


def ensure_index(using: str = "default", **kwargs: Any) -> None:
    """Create the search index if missing (idempotent; also run after every migrate).

    SQLite drops a table's triggers when a migration rebuilds the table, so on SQLite this
    recreates them and refills the FTS table when they were missing, or when it is the older
    kind that read its text from the requests table.
    """
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in POSTGRES:
                cursor.execute(sql)
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE name = %s OR name LIKE %s",
                [FTS, f"{FTS}_a_"],
            )
            found = dict(cursor.fetchall())
            stale = "content=" in found.get(FTS, "") or len(found) != 4
            if stale:
                cursor.execute(f"DROP TABLE IF EXISTS {FTS}")
                for name in [n for n in found if n != FTS]:
                    cursor.execute(f"DROP TRIGGER {name}")
            for sql in SQLITE:
                cursor.execute(sql)
            if stale:
                cursor.execute(SQLITE_FILL)


def matching(queryset: QuerySet, text: str) -> QuerySet:
    """Requests whose searchable text contains every whitespace-separated term."""
    vendor = connections[queryset.db].vendor
    for term in text.casefold().split()[:8]:
        if vendor == "sqlite" and len(term) >= 3 and not {"%", "_"} & set(term):
            queryset = queryset.filter(
                id__in=RawSQL(f"SELECT rowid FROM {FTS} WHERE search_text LIKE %s", [f"%{term}%"])
            )
        else:
            queryset = queryset.filter(search_text__contains=term)
    return queryset
