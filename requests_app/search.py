"""Free-text search over cached requests, backed by a real index on both databases.

`search_text` (written by sync.py) holds the casefolded id, partner, campaign, deal name, codes
and instructions. PostgreSQL searches it with LIKE through a pg_trgm GIN index; SQLite through
an FTS5 table with the trigram tokenizer, kept in step by triggers. Terms shorter than three
characters cannot use a trigram index and fall back to a scan of the one narrow column.
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
    f"search_text, content='{TABLE}', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_ai AFTER INSERT ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_ad AFTER DELETE ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_au AFTER UPDATE OF search_text ON {TABLE} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def ensure_index(using: str = "default", **kwargs: Any) -> None:
    """Create the search index if missing (idempotent; also run after every migrate).

    SQLite drops a table's triggers when a migration rebuilds the table, so on SQLite this
    recreates them and rebuilds the FTS table when they were missing.
    """
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in POSTGRES:
                cursor.execute(sql)
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [f"{FTS}_a_"],
            )
            complete = cursor.fetchone()[0] == 3
            for sql in SQLITE:
                cursor.execute(sql)
            if not complete:
                cursor.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(queryset: QuerySet, text: str) -> QuerySet:
    """Requests whose searchable text contains every whitespace-separated term."""
    vendor = connections[queryset.db].vendor
    for term in text.casefold().split()[:8]:
        if vendor == "sqlite" and len(term) >= 3:
            queryset = queryset.filter(
                id__in=RawSQL(
                    f"SELECT rowid FROM {FTS} WHERE search_text LIKE %s ESCAPE '\\'",
                    [_like_pattern(term)],
                )
            )
        else:
            queryset = queryset.filter(search_text__contains=term)
    return queryset
