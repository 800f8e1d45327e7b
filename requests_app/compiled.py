"""Lookups every page makes, with their SQL compiled once per database.

Building and compiling a query costs the same on every page while its SQL never changes: for
the signed-in user with their permissions it took several times as long as running it. A lookup
here compiles its query once, then runs that SQL with each new key and builds the row as the
ORM does (the same converters and model constructor), without the ORM's per-query set-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class _Compiled:
    sql: str
    head: tuple[Any, ...]  # the parameters before the key
    model: type[Model]
    fields: slice  # where the model's own columns are in a row
    names: list[str]  # their attribute names, in that order
    annotations: dict[str, int]  # annotation name -> position in a row
    converters: dict[int, tuple[list[Callable], Any]]  # position -> (converters, expression)


_COMPILED: dict[tuple[Callable, str], _Compiled] = {}


def _compile(queryset: QuerySet, key: Any, using: str) -> _Compiled | None:
    compiler = queryset.query.get_compiler(using)
    sql, params = compiler.as_sql()
    info = compiler.klass_info
    if (
        not params
        or params[-1] != key
        or list(params).count(key) != 1
        or info is None
        or info.get("related_klass_infos")
    ):
        return None  # not a plain lookup with the key last: leave it to the ORM
    start, end = info["select_fields"][0], info["select_fields"][-1] + 1
    return _Compiled(
        sql=sql,
        head=tuple(params[:-1]),
        model=info["model"],
        fields=slice(start, end),
        names=[column.target.attname for column, _, _ in compiler.select[start:end]],
        annotations=dict(compiler.annotation_col_map),
        converters=compiler.get_converters([column for column, _, _ in compiler.select]),
    )


def first(build: Callable[[Any], QuerySet], key: Any, *, using: str) -> Any:
    """build(key)'s first row as a model instance (annotations set), or None.

    build must filter on key last (the key is the last parameter of the SQL, once) and the
    result must depend on nothing else that changes; select_related is not supported. A query
    of another shape is run through the ORM each time rather than guessed at.
    """
    cache_key = (build, using)
    if cache_key not in _COMPILED:
        queryset = build(key).using(using)[:1]
        compiled = _compile(queryset, key, using)
        if compiled is None:
            return next(iter(queryset), None)
        _COMPILED[cache_key] = compiled
    compiled = _COMPILED[cache_key]
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, (*compiled.head, key))
        row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    for position, (converters, expression) in compiled.converters.items():
        value = row[position]
        for convert in converters:
            value = convert(value, expression, connection)
        row[position] = value
    instance = compiled.model.from_db(using, compiled.names, row[compiled.fields])
    for name, position in compiled.annotations.items():
        setattr(instance, name, row[position])
    return instance
