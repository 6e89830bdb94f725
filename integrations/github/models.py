"""What the GitHub integration remembers: webhook deliveries (each counted once) and App credentials."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone


class DeliveryOutcome(models.TextChoices):
    RECEIVED = "received", "received, waiting for a worker"
    HANDLING = "handling", "being handled"
    HANDLED = "handled", "handled"
    IGNORED = "ignored", "ignored"
    FAILED = "failed", "failed"


# A delivery claimed this long ago and not handled lost its worker; one received this long ago and not
# claimed lost its task. Handling posts to a few channels, well within it.
LEASE = timedelta(minutes=5)


def lost(now: datetime | None = None) -> Q:
    """Deliveries whose handling was lost: never taken up, or taken by a worker that died."""
    cutoff = (now or timezone.now()) - LEASE
    return Q(outcome=DeliveryOutcome.RECEIVED, received_at__lt=cutoff) | Q(
        outcome=DeliveryOutcome.HANDLING, claimed_at__lt=cutoff
    )


class WebhookDelivery(models.Model):
    """One verified delivery from GitHub, keyed by its `X-GitHub-Delivery` GUID.

    The view stores it and enqueues its handling; a redelivery (same GUID) finds the row and does
    nothing, unless the handling was lost with its worker. The payload stays here so the queue carries
    only the row's id, whatever its size.
    """

    delivery_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=100)
    action = models.CharField(max_length=100, blank=True)
    repository = models.CharField(max_length=200, blank=True)
    installation_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=20, choices=DeliveryOutcome.choices, default=DeliveryOutcome.RECEIVED)
    note = models.TextField(blank=True, help_text="What the handler did, or why it did nothing.")
    received_at = models.DateTimeField(default=timezone.now)
    # When a worker took it: a claim older than the lease belongs to a worker that died.
    claimed_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["event", "-received_at"])]

    def __str__(self) -> str:
        kind = f"{self.event}.{self.action}" if self.action else self.event
        return f"{kind} {self.delivery_id}"


class Installation(models.Model):
    """The App installation serving one repository, and an access token scoped to that repository.

    Rows live in the database so that every web and queue worker shares them. Two workers that find the
    token stale at the same moment may both mint one; both tokens are valid, and the last one saved is
    used from then on.
    """

    repository = models.CharField(max_length=200, unique=True, help_text="owner/name, lower case")
    installation_id = models.BigIntegerField()
    token = models.TextField(blank=True, help_text="Encrypted (chatops_site.crypto).")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["repository"]

    def __str__(self) -> str:
        return f"{self.repository} (installation {self.installation_id})"
