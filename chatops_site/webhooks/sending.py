"""Sending deliveries: one signed POST per attempt, our own backoff for a day, and claims so no attempt runs twice.

An attempt is booked by its delivery's `next_attempt_at`. Whoever wants to make it (the task `emit`
queued, the minute sweep, a redelivery) claims it by moving `next_attempt_at` to the end of a lease, on
the condition that it still holds the time they saw: two workers never make the same attempt, and a
worker that dies mid-attempt leaves a lease that runs out, after which the sweep makes the attempt again.

Each attempt is one try through the door to outside HTTP (`integrations.http`, plain `request`): the
retries are ours, spread over a day, not the door's within a second. 2xx is delivered; anything else
(an error status, a redirect, no answer) is retried 30 s later, then 1, 2, 4 minutes... at most an hour
apart, until 24 h after the event; the attempt after that is the last, and a delivery still failing
then is `failed` with its last error. Redelivering (the admin) books one more attempt of the same
delivery id, retried like the first while the event is less than a day old.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import requests
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from chatops_site import crypto, queue
from chatops_site.webhooks.models import DeliveryState, WebhookDelivery
from chatops_site.webhooks.outbox import SEND_TASK
from integrations import http

log = logging.getLogger("chatops.webhooks")

SYSTEM = "webhooks"  # the `system` label of /metrics' outside calls
TIMEOUT = 10.0  # seconds; a receiver that takes longer should answer first and work afterwards
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)
# A claimed attempt is the claimer's for this long: well past the POST's timeout and the queue's task
# timeout, after which django-q has killed any worker still on it.
LEASE = timedelta(minutes=3)
SWEEP_BATCH = 500  # due attempts queued per sweep; the next minute takes the rest
USER_AGENT = "ChatOps-Webhooks/1"
# What a delivery's own row keeps of a refusal: enough to read the receiver's reason, not its whole page.
ERROR_TEXT = 300


def body(payload: dict[str, Any]) -> bytes:
    """The bytes that are signed and sent, the same for every attempt (sorted keys: storage may reorder them)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, raw: bytes) -> str:
    """`X-ChatOps-Signature-256`: HMAC-SHA256 of the raw body with the webhook's secret, as GitHub signs."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min... at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def attempt(delivery_id: int, due: datetime) -> WebhookDelivery | None:
    """Make the attempt booked for `due`, unless someone else has claimed it; the delivery as it is then."""
    delivery = _claim(delivery_id, due)
    if delivery is None:
        return None
    lease = delivery.next_attempt_at
    status, error = _post(delivery)
    return _record(delivery, lease, status, error)


def _claim(delivery_id: int, due: datetime) -> WebhookDelivery | None:
    if not WebhookDelivery.objects.filter(pk=delivery_id, webhook__active=True).exists():
        return None  # an inactive webhook's deliveries wait until it is active again
    # The condition is on the row's own columns only, so the database re-checks it under the row lock.
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at=due).update(
        next_attempt_at=timezone.now() + LEASE, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)


def _post(delivery: WebhookDelivery) -> tuple[int, str]:
    """One POST of the delivery; (HTTP status or 0, why it is not delivered or blank)."""
    hook = delivery.webhook
    try:
        secret = hook.secret
    except crypto.CannotDecrypt as exc:
        return 0, f"{exc} (set the webhook's secret again in the admin)"
    raw = body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-ChatOps-Event": delivery.event,
        "X-ChatOps-Delivery": str(delivery.delivery_id),
        "X-ChatOps-Signature-256": signature(secret, raw),
    }
    try:
        with http.session(SYSTEM, timeout=TIMEOUT) as outside:
            # A redirect is an answer to record, not to follow: it would turn the POST into a GET elsewhere.
            response = outside.request("POST", hook.url, data=raw, headers=headers, allow_redirects=False)
    except requests.RequestException as exc:
        # The exception's text names the URL, which for Zapier or n8n is itself a credential.
        return 0, f"no answer ({exc.__class__.__name__})"
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"answered {response.status_code}: {response.text[:ERROR_TEXT]}".strip()


def _record(delivery: WebhookDelivery, lease: datetime | None, status: int, error: str) -> WebhookDelivery:
    """Write the attempt's outcome and book the next one, if the attempt is still ours (not redelivered since)."""
    now = timezone.now()
    fields: dict[str, Any] = {"last_status": status or None}
    if not error:
        fields.update(state=DeliveryState.DELIVERED, delivered_at=now, next_attempt_at=None)
        log.info("webhook %s: %s %s delivered", delivery.webhook.name, delivery.event, delivery.delivery_id)
    else:
        deadline = delivery.created_at + RETRY_FOR
        fields["last_error"] = error
        if now >= deadline:
            fields.update(state=DeliveryState.FAILED, next_attempt_at=None)
        else:
            fields["next_attempt_at"] = min(now + backoff(delivery.attempts), deadline)
        log.warning(
            "webhook %s: %s %s attempt %s failed: %s%s",
            delivery.webhook.name,
            delivery.event,
            delivery.delivery_id,
            delivery.attempts,
            error,
            "; giving up" if "state" in fields else "",
        )
    if not WebhookDelivery.objects.filter(pk=delivery.pk, next_attempt_at=lease).update(**fields):
        log.info("webhook delivery %s was booked again during its attempt; that booking stands", delivery.delivery_id)
    delivery.refresh_from_db()
    return delivery


def due(now: datetime | None = None) -> list[tuple[int, datetime]]:
    """(id, booked time) of the pending attempts that are due, oldest first, of webhooks still active."""
    rows = (
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now or timezone.now(), webhook__active=True
        )
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at")[:SWEEP_BATCH]
    )
    return [(pk, at) for pk, at in rows if at is not None]


def queue_due(now: datetime | None = None) -> int:
    """Queue an attempt for each due delivery (the minute sweep); the claims keep a duplicate from sending."""
    booked = due(now)
    for pk, at in booked:
        queue.enqueue(SEND_TASK, pk, at.isoformat(), group="webhooks")
    return len(booked)


def redeliver(deliveries: QuerySet[WebhookDelivery]) -> int:
    """Book one more attempt, now, of each delivery (same delivery id, same payload), whatever its state."""
    now = timezone.now()
    with transaction.atomic():
        pks = list(deliveries.values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=pks).update(state=DeliveryState.PENDING, next_attempt_at=now)
        for pk in pks:
            queue.enqueue(SEND_TASK, pk, now.isoformat(), group="webhooks")
    return len(pks)


def forget(before: datetime) -> int:
    """Delete the deliveries made before `before` that are finished (the daily housekeeping)."""
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=before).exclude(state=DeliveryState.PENDING).delete()
    if deleted:
        log.info("housekeeping: deleted %s outgoing webhook deliveries made before %s", deleted, before.date())
    return deleted
