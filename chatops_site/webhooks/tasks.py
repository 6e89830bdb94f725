"""Background tasks of the outgoing webhooks; each is safe to run twice (attempts are claimed, see `sending`)."""

from __future__ import annotations

from datetime import datetime

from chatops_site.webhooks import sending


def send(delivery_id: int, due: str) -> None:
    """Make the attempt of this delivery that was booked for `due` (ISO 8601), unless another worker has."""
    sending.attempt(delivery_id, datetime.fromisoformat(due))


def sweep() -> None:
    """Every minute: queue the attempts that are due (retries, redeliveries, attempts whose worker died)."""
    sending.queue_due()
