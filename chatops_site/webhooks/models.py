"""Outgoing webhooks: where events go (`Webhook`) and each event on its way to one of them (`WebhookDelivery`)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chatops_site import crypto


class EventKind(models.TextChoices):
    """What a webhook subscribes to; each kind has its own event names (`deploy.succeeded`, `cost.anomaly`...)."""

    DEPLOY = "deploy", "deploy transitions"
    APPROVAL = "approval", "approvals and rejections"
    COMMAND = "command", "commands"
    COST_ANOMALY = "cost_anomaly", "cost anomalies"


# Receivers are HTTP services; ftp:// and the like, which Django's URL check lets through, are not.
http_url = URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")


def ordered_kinds(kinds: object) -> list[str]:
    """The known kinds among `kinds`, in the one order the admin, the file and the export all use."""
    chosen = set(kinds) if isinstance(kinds, list | tuple | set) else set()
    return [kind for kind in EventKind.values if kind in chosen]


class Webhook(models.Model):
    """A receiver of our events: its URL, the kinds of event it hears, and the secret that signs them.

    The secret is kept encrypted (`chatops_site.crypto`, like Slack bot tokens) and never shown again:
    the receiver needs it, we only need to sign with it.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, unique=True, validators=[http_url])
    events = models.JSONField(help_text='Event kinds, e.g. ["deploy", "approval", "command", "cost_anomaly"].')
    secret_encrypted = models.TextField(help_text="Fernet token (chatops_site.crypto); never shown.")
    active = models.BooleanField(default=True, help_text="Inactive: no new deliveries; waiting ones wait.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, text: str) -> None:
        self.secret_encrypted = crypto.encrypt(text)

    def hears(self, kind: str) -> bool:
        return self.active and kind in (self.events or [])

    def clean(self) -> None:
        if not ordered_kinds(self.events) or len(ordered_kinds(self.events)) != len(set(self.events or [])):
            raise ValidationError({"events": f"Choose a list of: {', '.join(EventKind.values)}."})


class DeliveryState(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


class WebhookDelivery(models.Model):
    """One event for one webhook: the exact payload, and every attempt's outcome.

    `next_attempt_at` is when the next attempt is due; a worker claims an attempt by moving it forward
    (`chatops_site.webhooks.sending`), so one attempt is made by one worker only.
    """

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=50, help_text="e.g. deploy.succeeded")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status of the last attempt.")
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The minute sweep: pending deliveries whose attempt is due, oldest first.
            models.Index(
                fields=["next_attempt_at"], condition=Q(state=DeliveryState.PENDING), name="webhook_delivery_due"
            ),
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_by_hook"),
            models.Index(fields=["-created_at"], name="webhook_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"
