"""Keyset pagination, newest first on (a time, id): page 10,000 costs what page 1 costs.

A page asks for the rows just past a cursor (the last row shown) through the (time, id) index,
with no OFFSET and no COUNT(*). Cursors are opaque strings in links (`?after=...`, `?before=...`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

PAGE_SIZE = 50


class InvalidCursor(ValueError):
    """The page link was cut or edited."""


@dataclass
class Page:
    rows: list
    older: str | None = None  # cursor of the next page down, when there is one
    newer: str | None = None  # cursor of the page above, when this is not the first


def encode(moment: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = text.split("|")
        parsed = parse_datetime(moment)
        if parsed is None:
            raise ValueError(moment)
        return parsed, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("That page link is broken; here are the newest rows.") from exc


def paginate(queryset: QuerySet, field: str, after: str = "", before: str = "", size: int = PAGE_SIZE) -> Page:
    """One page of `queryset` newest first: rows older than `after`, or the rows just newer than `before`."""
    if before:
        moment, pk = decode(before)
        # `field >= moment` bounds the index range; the OR only breaks ties on the same moment.
        newer = queryset.filter(**{f"{field}__gte": moment}).filter(
            Q(**{f"{field}__gt": moment}) | Q(**{field: moment, "pk__gt": pk})
        )
        rows = _rows(newer.order_by(field, "pk"), size + 1)
        if len(rows) <= size:  # back at the top: show a full first page
            return paginate(queryset, field, size=size)
        rows = rows[:size][::-1]
        return Page(rows, older=_cursor(rows[-1], field), newer=_cursor(rows[0], field))
    older = queryset.order_by(f"-{field}", "-pk")
    if after:
        moment, pk = decode(after)
        older = older.filter(**{f"{field}__lte": moment}).filter(
            Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "pk__lt": pk})
        )
    rows = _rows(older, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        older=_cursor(rows[-1], field) if more else None,
        newer=_cursor(rows[0], field) if after and rows else None,
    )


def _rows(ordered: QuerySet, limit: int) -> list:
    """The first `limit` rows: their ids first, through the index alone, then the rows with their joins.

    Asked in one query with its joins (select_related), SQLite may start from a small joined table
    and sort the whole list; the ids alone always walk the (time, id) index.
    """
    ids = list(ordered.values_list("pk", flat=True)[:limit])
    found = ordered.in_bulk(ids)
    return [found[pk] for pk in ids]


def _cursor(row, field: str) -> str:
    return encode(getattr(row, field), row.pk)
