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


def insert(obj: Model) -> None:
    """Write a new row as `obj.save()` would (defaults, conversions; no signals), and set its key."""
    model = type(obj)
    fields = _written(model)
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(model), [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
        )
        obj.pk = cursor.fetchone()[0]
    obj._state.adding, obj._state.db = False, connection.alias


def update(obj: Model, names: tuple[str, ...]) -> None:
    """Write these fields of a saved row, as `obj.save(update_fields=...)` would."""
    fields = [cast(Field, obj._meta.get_field(name)) for name in names]
    values = [field.get_db_prep_save(field.pre_save(obj, False), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(obj), names), [*values, obj.pk])


def _written(model: type[Model]) -> list[Field]:
    """The fields an insert writes: all but a key the database numbers."""
    return [field for field in model._meta.concrete_fields if not (field.primary_key and field.db_returning)]


@functools.cache
def _insert_sql(model: type[Model]) -> str:
    names = ", ".join(connection.ops.quote_name(str(field.column)) for field in _written(model))
    values = ", ".join(["%s"] * len(_written(model)))
    key = column(model, model._meta.pk.name)
    return f"INSERT INTO {table(model)} ({names}) VALUES ({values}) RETURNING {key}"  # noqa: S608  (names only)


@functools.cache
def _update_sql(model: type[Model], names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(cast(Field, model._meta.get_field(name)).column))} = %s" for name in names)
    return f"UPDATE {table(model)} SET {assignments} WHERE {column(model, model._meta.pk.name)} = %s"  # noqa: S608  (names only)
