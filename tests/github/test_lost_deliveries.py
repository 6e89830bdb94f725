"""A delivery whose worker died, or whose task the queue lost, is handled after all: once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bots.models import ConsoleMessage
from chatops_site.catalog.models import ChannelRoute
from integrations.github import events
from integrations.github.models import LEASE, DeliveryOutcome, WebhookDelivery
from tests.github.conftest import fixture_bytes

OPENED = "pull_request/opened.payload.json"

GUID = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


@pytest.fixture
def everything_to_news(catalog):
    ChannelRoute.objects.create(events=["pull_request"], channel="console:news")


def stuck(outcome: str, ago: timedelta) -> WebhookDelivery:
    """The delivery as a worker left it when it died `ago` (or as the queue forgot it)."""
    delivery = WebhookDelivery.objects.get(delivery_id=GUID)
    delivery.outcome = outcome
    delivery.claimed_at = timezone.now() - ago if outcome == DeliveryOutcome.HANDLING else None
    delivery.received_at = timezone.now() - ago
    delivery.save()
    ConsoleMessage.objects.all().delete()
    return delivery


def news() -> int:
    return ConsoleMessage.objects.filter(channel="news").count()


def test_a_redelivery_of_a_delivery_whose_worker_died_is_taken_up(deliver, everything_to_news):
    deliver("pull_request", fixture_bytes(OPENED), delivery=GUID)
    stuck(DeliveryOutcome.HANDLING, LEASE + timedelta(minutes=1))

    again = deliver("pull_request", fixture_bytes(OPENED), delivery=GUID)

    assert again.json()["duplicate"] is True  # the same row, not a second one
    assert WebhookDelivery.objects.get().outcome == DeliveryOutcome.HANDLED
    assert news() == 1


def test_a_delivery_still_in_a_living_workers_hands_is_left_to_it(deliver, everything_to_news):
    deliver("pull_request", fixture_bytes(OPENED), delivery=GUID)
    stuck(DeliveryOutcome.HANDLING, timedelta(seconds=30))

    deliver("pull_request", fixture_bytes(OPENED), delivery=GUID)
    events.recover()

    assert WebhookDelivery.objects.get().outcome == DeliveryOutcome.HANDLING
    assert news() == 0


def test_the_schedule_takes_up_deliveries_lost_with_a_worker_or_a_queue(
    deliver, everything_to_news, django_capture_on_commit_callbacks
):
    deliver("pull_request", fixture_bytes(OPENED), delivery=GUID)
    for outcome in (DeliveryOutcome.HANDLING, DeliveryOutcome.RECEIVED):
        stuck(outcome, LEASE + timedelta(minutes=1))

        with django_capture_on_commit_callbacks(execute=True):
            assert events.recover() == 1

        assert WebhookDelivery.objects.get().outcome == DeliveryOutcome.HANDLED
        assert news() == 1
    assert events.recover() == 0
