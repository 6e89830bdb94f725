"""`emit`: the one way an event leaves for the webhooks, written in the caller's transaction.

Each active webhook that hears the event's kind gets its own delivery row (with its own delivery id)
and a queued first attempt. Both belong to the caller's transaction: a deploy transition rolled back
sends nothing, and one committed is sent, however the worker that sends it fares (the sweep retries).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.db import connection
from django.utils import timezone

from chatops_site import queue, sql
from chatops_site.webhooks.models import Webhook, WebhookDelivery

SCHEMA = "chatops.webhook/v1"
SEND_TASK = "chatops_site.webhooks.tasks.send"


def emit(kind: str, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue `event` (e.g. `deploy.succeeded`) with `data` for every active webhook of `kind`.

    `data` must be plain JSON (no secrets, no chat tokens: it leaves the building).
    """
    hooks = listeners(kind)
    now = timezone.now()
    deliveries = []
    for hook in hooks:
        delivery_id = uuid.uuid4()
        deliveries.append(
            WebhookDelivery.objects.create(
                webhook=hook,
                event=event,
                delivery_id=delivery_id,
                payload=envelope(delivery_id, event, now.isoformat(), data),
                next_attempt_at=now,
                created_at=now,
            )
        )
        queue.enqueue(SEND_TASK, deliveries[-1].pk, now.isoformat(), group="webhooks")
    return deliveries


def listeners(kind: str) -> list[Webhook]:
    """The active webhooks that hear `kind`: few rows, read whole (a JSON list is not indexable everywhere)."""
    return [hook for hook in Webhook.objects.filter(active=True).only("pk", "events", "active") if hook.hears(kind)]


def heard() -> set[str]:
    """The kinds some active webhook hears: callers skip building data nobody will receive.

    Every command asks (for `command.finished`), mostly to hear "none", so the statement is written once.
    """
    events = Webhook._meta.get_field("events")
    with connection.cursor() as cursor:
        cursor.execute(_heard_sql(), [True])
        rows = cursor.fetchall()
    return {kind for (value,) in rows for kind in events.from_db_value(value, None, connection) or []}  # type: ignore[arg-type]


@functools.cache
def _heard_sql() -> str:
    return (
        f"SELECT {sql.column(Webhook, 'events')} FROM {sql.table(Webhook)} WHERE {sql.column(Webhook, 'active')} = %s"  # noqa: S608
    )


def envelope(delivery_id: uuid.UUID, event: str, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
    """The body every event has (schema/v1.json): what it is, when, and its data."""
    return {"schema": SCHEMA, "id": str(delivery_id), "event": event, "occurred_at": occurred_at, "data": data}
