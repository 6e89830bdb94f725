"""Webhooks are edited here (their secret written, never shown); deliveries are read here and redelivered."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from chatops_site.deploys.admin import AuditAdmin
from chatops_site.webhooks import sending
from chatops_site.webhooks.models import EventKind, Webhook, WebhookDelivery, http_url, ordered_kinds


class WebhookForm(forms.ModelForm):
    # Written out whole: a receiver's URL is not guessed from a host name.
    url = forms.CharField(max_length=500, validators=[http_url], help_text="n8n: the Webhook node's Production URL.")
    events = forms.MultipleChoiceField(choices=EventKind.choices, widget=forms.CheckboxSelectMultiple)
    # Write-only: the receiver already has it, and a page that showed it would hand it to anyone looking.
    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The shared secret the receiver checks X-ChatOps-Signature-256 with. Never shown again; "
        "leave blank to keep the one set.",
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events", "active"]

    def clean_secret(self) -> str:
        secret = self.cleaned_data["secret"]
        if not secret and self.instance.pk is None:
            raise forms.ValidationError("A new webhook needs a secret: its receiver checks signatures with it.")
        return secret

    def save(self, commit: bool = True) -> Webhook:
        hook = super().save(commit=False)
        hook.events = ordered_kinds(self.cleaned_data["events"])
        if self.cleaned_data["secret"]:
            hook.secret = self.cleaned_data["secret"]
        if commit:
            hook.save()
        return hook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["name", "url", "kinds", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    fields = ["name", "url", "events", "secret", "active"]

    @admin.display(description="events")
    def kinds(self, obj: Webhook) -> str:
        return ", ".join(obj.events or [])


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(AuditAdmin):
    """What was sent where and how each attempt went; Redeliver sends a delivery again, same id and payload."""

    list_display = ["created_at", "event", "webhook", "state", "attempts", "last_status", "next_attempt_at"]
    list_filter = ["state", "event", "webhook"]
    list_select_related = ["webhook"]
    search_fields = ["delivery_id", "event", "webhook__name"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "webhook",
        "event",
        "delivery_id",
        "state",
        "attempts",
        "last_status",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "payload",
    )
    actions = ["redeliver"]

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        """Whoever may change webhooks may send their events again."""
        return request.user.has_perm("webhooks.change_webhook")

    @admin.action(description="Redeliver selected deliveries (same delivery id)", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = sending.redeliver(queryset)
        waiting = queryset.filter(webhook__active=False).count()
        note = f" ({waiting} of an inactive webhook: they go when it is active again)" if waiting else ""
        self.message_user(request, f"Queued {count} delivery attempt(s){note}.", messages.SUCCESS)
