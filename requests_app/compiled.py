"""Lookups every page makes, with their SQL compiled once per database.

Building and compiling a query costs the same on every page while its SQL never changes: for
the signed-in user with their permissions it took several times as long as running it. A lookup
here compiles its query once, then runs that SQL with each new key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet

# Per (query builder, database): the model, the SQL, and the parameters before the key.
_COMPILED: dict[tuple[Callable, str], tuple[type[Model], str, tuple[Any, ...]]] = {}


def first(build: Callable[[Any], QuerySet], key: Any, *, using: str) -> Any:
    """build(key)'s first row as a model instance, or None.

    build must filter on key last (the key is the last parameter of the SQL, once) and the
    result must not depend on anything else that changes: a query of another shape is run
    through the ORM each time rather than guessed at. Model fields are converted as the ORM
    converts them; annotations come as the database returns them (SQLite gives 1 for True).
    """
    cache_key = (build, using)
    if cache_key not in _COMPILED:
        queryset = build(key).using(using)[:1]
        sql, params = queryset.query.get_compiler(using).as_sql()
        if not params or params[-1] != key or list(params).count(key) != 1:
            return next(iter(queryset), None)
        _COMPILED[cache_key] = (queryset.model, sql, tuple(params[:-1]))
    model, sql, head = _COMPILED[cache_key]
    return next(iter(model._default_manager.raw(sql, (*head, key), using=using)), None)
