"""Cursor pagination for the long lists, on the dashboard's keyset pages (`web.keyset`).

Newest first on (time, id), with no OFFSET and no COUNT(*), so a page deep in millions of command
runs costs what the first one does. Follow `next` (older rows) and `previous` (newer rows); their
`after` / `before` cursors are opaque.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from chatops_site.web import keyset


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
            raise exceptions.ValidationError(
                {"cursor": ["That cursor is broken; follow the `next` and `previous` links as they are."]}
            ) from None
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
