"""Cursor pagination for the long lists, on the dashboard's keyset pages (`web.keyset`).

Newest first on (time, id), with no OFFSET and no COUNT(*), so a page deep in millions of command
runs costs what the first one does. Follow `next` (older rows) and `previous` (newer rows); their
`after` / `before` cursors are opaque. Daily costs page the same way, oldest first on (day, group)
(`costs.reports.daily_page`), with cursors of their own.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date

from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from chatops_site.web import keyset

BROKEN_CURSOR = "That cursor is broken; follow the `next` and `previous` links as they are."


class KeysetPagination(BasePagination):
    """Pages of `keyset.PAGE_SIZE` rows; the view names its time column in `keyset_field`."""

    page_size = keyset.PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.url = request.build_absolute_uri()
        try:
            self.page = keyset.paginate(
                queryset,
                view.keyset_field,
                after=request.query_params.get("after", ""),
                before=request.query_params.get("before", ""),
                size=self.page_size,
            )
        except keyset.InvalidCursor:
            raise exceptions.ValidationError({"cursor": [BROKEN_CURSOR]}) from None
        return self.page.rows

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link("after", self.page.older),
                "previous": self._link("before", self.page.newer),
                "results": data,
            }
        )

    def _link(self, name: str, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        other = "before" if name == "after" else "after"
        return replace_query_param(remove_query_param(self.url, other), name, cursor)

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page down (older rows); null on the last page."},
                "previous": {**link, "description": "The page above (newer rows); null on the first page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "string"},
            }
            for name, description in (
                ("after", "Cursor from a `next` link: the rows older than it."),
                ("before", "Cursor from a `previous` link: the rows just newer than it."),
            )
        ]


def day_group_cursor(row) -> str:
    """The opaque cursor of one `costs.reports.DailyRow`: its (day, group)."""
    return base64.urlsafe_b64encode(f"{row.day.isoformat()}|{row.group}".encode()).decode().rstrip("=")


def parse_day_group_cursor(cursor: str) -> tuple[date, str]:
    """The (day, group) of a cursor from a `next` / `previous` link; a 400 if it was cut or edited."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        day, group = text.split("|", 1)
        return date.fromisoformat(day), group
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise exceptions.ValidationError(BROKEN_CURSOR) from None


def day_group_links(request, page) -> dict[str, str | None]:
    """`next` and `previous` of a `costs.reports.DailyPage`: this URL, its filters kept, with the other cursor."""
    url = remove_query_param(remove_query_param(request.build_absolute_uri(), "after"), "before")
    return {
        "next": replace_query_param(url, "after", day_group_cursor(page.rows[-1])) if page.more_after else None,
        "previous": replace_query_param(url, "before", day_group_cursor(page.rows[0])) if page.more_before else None,
    }
