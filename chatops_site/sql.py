"""Names for statements written out by hand, on the paths every chat command takes.

The ORM builds a statement anew on each call, about a millisecond of CPU for a join or a filtered count;
a statement that every command runs is written once instead (and cached), from these quoted names of a
model's own table and columns. Values always go in as parameters, never into the text.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar, cast

from django.db import connection
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], field: str) -> str:
    """`"table"."column"` of one of the model's fields."""
    concrete = cast(Field, model._meta.get_field(field))
    return f"{table(model)}.{connection.ops.quote_name(str(concrete.column))}"


def get(model: type[M], **equals: Any) -> M | None:
    """The row whose fields equal these values (a model instance stands for its key), loaded as the ORM
    would load it; None when there is none. For fields that are unique together."""
    fields = [field.attname for field in model._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(_get_sql(model, tuple(equals)), [getattr(value, "pk", value) for value in equals.values()])
        row = cursor.fetchone()
    return None if row is None else model.from_db(connection.alias, fields, row)


@functools.cache
def _get_sql(model: type[Model], fields: tuple[str, ...]) -> str:
    columns = ", ".join(column(model, field.name) for field in model._meta.concrete_fields)
    equal = " AND ".join(f"{column(model, field)} = %s" for field in fields)
    return f"SELECT {columns} FROM {table(model)} WHERE {equal} LIMIT 1"  # noqa: S608  (names only, see above)


def exists(model: type[Model], **equals: Any) -> bool:
    """Whether a row's fields equal these values (None: the field is null; a model instance: its key)."""
    values = [getattr(value, "pk", value) for value in equals.values() if value is not None]
    with connection.cursor() as cursor:
        cursor.execute(_exists_sql(model, tuple((field, value is None) for field, value in equals.items())), values)
        return cursor.fetchone() is not None


@functools.cache
def _exists_sql(model: type[Model], fields: tuple[tuple[str, bool], ...]) -> str:
    equal = " AND ".join(f"{column(model, field)} {'IS NULL' if null else '= %s'}" for field, null in fields)
    return f"SELECT 1 FROM {table(model)} WHERE {equal} LIMIT 1"  # noqa: S608  (names only, see above)
