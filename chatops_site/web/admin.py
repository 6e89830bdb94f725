"""API tokens in the admin: who holds which, until when, last used when; revoking is deleting. Never a key."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from chatops_site.web.models import ApiToken

COLUMNS = ("name", "user", "starts_with", "created", "expiry", "last_used")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = fields = readonly_fields = COLUMNS
    list_filter = ["expiry", "last_used"]
    search_fields = ["name", "user__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are shown once, to whoever made them: people make their own on the profile page.
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False
