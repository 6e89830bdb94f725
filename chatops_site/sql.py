"""Names for statements written out by hand, on the paths every chat command takes.

The ORM builds a statement anew on each call, about a millisecond of CPU for a join or a filtered count;
a statement that every command runs is written once instead (and cached), from these quoted names of a
model's own table and columns. Values always go in as parameters, never into the text.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], field: str) -> str:
    """`"table"."column"` of one of the model's fields."""
    return f"{table(model)}.{connection.ops.quote_name(model._meta.get_field(field).column)}"  # type: ignore[union-attr]
