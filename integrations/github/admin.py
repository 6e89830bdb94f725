"""Deliveries are read-only evidence of what GitHub sent; installations show which App install serves a repo."""

from __future__ import annotations

from django.contrib import admin

from chatops_site.deploys.admin import AuditAdmin
from integrations.github.models import Installation, WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(AuditAdmin):
    list_display = ["delivery_id", "event", "action", "repository", "outcome", "received_at"]
    list_filter = ["outcome", "event"]
    search_fields = ["delivery_id", "repository"]
    date_hierarchy = "received_at"


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    """The token itself is never shown; deleting a row makes the next call look the installation up again."""

    list_display = ["repository", "installation_id", "token_expires_at", "updated_at"]
    readonly_fields = ("repository", "installation_id", "token_expires_at", "updated_at")
    fields = readonly_fields
    search_fields = ["repository"]

    def has_add_permission(self, request):
        return False
