"""Receiving a GitHub delivery: verify the signature on the raw body, record it once, queue its handling.

GitHub gives up after 10 seconds and does not retry, so nothing here waits on anything slow.
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import parse_qs

from django.conf import settings

from chatops_site import queue
from integrations.github.models import DeliveryOutcome, WebhookDelivery, lost

log = logging.getLogger("chatops.github")


class Refused(Exception):
    """The delivery is not accepted; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def verify(body: bytes, signature: str) -> None:
    """`X-Hub-Signature-256` must be the HMAC-SHA256 of exactly these bytes, keyed with our secret."""
    secret = settings.GITHUB_WEBHOOK_SECRET
    if not secret:
        raise Refused(404, "GitHub webhooks are off here: GITHUB_WEBHOOK_SECRET is not set")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Refused(401, "the X-Hub-Signature-256 header does not match the body")


def parse(body: bytes, content_type: str) -> dict:
    """A hook may be configured to send JSON or a form with the JSON in `payload`."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            text = parse_qs(body.decode())["payload"][-1]
        else:
            text = body.decode()
        payload = json.loads(text)
    except (UnicodeDecodeError, KeyError, ValueError):
        raise Refused(400, "the body is not a GitHub payload") from None
    if not isinstance(payload, dict):
        raise Refused(400, "the body is not a GitHub payload")
    return payload


def _nested(payload: dict, key: str, field: str):
    value = payload.get(key)
    return value.get(field) if isinstance(value, dict) else None


def receive(body: bytes, headers) -> tuple[WebhookDelivery, bool]:
    """Verify and record a delivery; queue its handling the first time. Returns it and whether it was new."""
    event = headers.get("X-GitHub-Event", "")
    delivery_id = headers.get("X-GitHub-Delivery", "")
    try:
        verify(body, headers.get("X-Hub-Signature-256", ""))
    except Refused as exc:
        log.warning("refused GitHub delivery %r (%r): %s", delivery_id[:100], event[:100], exc)
        raise
    if not event or not delivery_id or len(event) > 100 or len(delivery_id) > 100:
        raise Refused(400, "X-GitHub-Event and X-GitHub-Delivery are required")
    payload = parse(body, headers.get("Content-Type", ""))
    installation_id = _nested(payload, "installation", "id")
    delivery, created = WebhookDelivery.objects.get_or_create(
        delivery_id=delivery_id,
        defaults={
            "event": event,
            "action": str(payload.get("action") or "")[:100],
            "repository": str(_nested(payload, "repository", "full_name") or "")[:200],
            "installation_id": installation_id if isinstance(installation_id, int) else None,
            "payload": payload,
            "outcome": DeliveryOutcome.HANDLED if event == "ping" else DeliveryOutcome.RECEIVED,
            "note": "pong" if event == "ping" else "",
        },
    )
    if created and delivery.outcome == DeliveryOutcome.RECEIVED:
        queue.enqueue("integrations.github.events.handle", delivery.pk, group="github")
    elif WebhookDelivery.objects.filter(lost(), pk=delivery.pk).exists():
        log.warning("GitHub redelivered %s (%s), whose handling was lost; taking it up", delivery_id, event)
        queue.enqueue("integrations.github.events.handle", delivery.pk, group="github")
    elif not created:
        log.info("GitHub redelivered %s (%s); it was handled once already", delivery_id, event)
    return delivery, created
