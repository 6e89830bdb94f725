"""The daily housekeeping: de-duplication and install-flow rows are forgotten once they cannot matter."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from bots.models import ChannelDelivery, CommandRun, SlackEvent, SlackOAuthState, SlackResponseUrl
from chatops_site.ops.housekeeping import prune
from chatops_site.web.models import ApiToken
from integrations.github.models import DeliveryOutcome, WebhookDelivery

PAYLOAD = {"action": "opened", "repository": {"full_name": "acme/web-app"}}


def slack_event(event_id: str, age: timedelta) -> SlackEvent:
    event = SlackEvent.objects.create(event_id=event_id, type="app_mention")
    SlackEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - age)  # received_at is auto_now_add
    return event


def install_state(state: str, age: timedelta) -> SlackOAuthState:
    return SlackOAuthState.objects.create(state=state, created_at=timezone.now() - age)


def delivery(delivery_id: str, age: timedelta, outcome: str = DeliveryOutcome.HANDLED) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        delivery_id=delivery_id,
        event="pull_request",
        payload=PAYLOAD,
        outcome=outcome,
        received_at=timezone.now() - age,
    )


@pytest.mark.django_db
def test_slack_event_ids_older_than_a_day_go_and_fresh_ones_stay():
    slack_event("Ev-old", timedelta(days=1, minutes=1))
    slack_event("Ev-fresh", timedelta(hours=23))

    assert prune()["slack_events"] == 1
    assert list(SlackEvent.objects.values_list("event_id", flat=True)) == ["Ev-fresh"]


@pytest.mark.django_db
def test_expired_install_states_go_and_an_install_in_progress_keeps_its_state():
    install_state("expired", timedelta(minutes=11))
    install_state("in-progress", timedelta(minutes=2))

    assert prune()["slack_oauth_states"] == 1
    assert list(SlackOAuthState.objects.values_list("state", flat=True)) == ["in-progress"]


@pytest.mark.django_db
def test_response_url_counts_of_commands_older_than_a_day_go_with_nothing_else():
    for name, age in [("old", timedelta(days=1, minutes=1)), ("fresh", timedelta(minutes=20))]:
        run = CommandRun.objects.create(
            platform="slack", chat_user_id="U1", command="deploy", text=name, received_at=timezone.now() - age
        )
        SlackResponseUrl.objects.create(run=run, uses=2)

    assert prune()["slack_response_urls"] == 1
    assert list(SlackResponseUrl.objects.values_list("run__text", flat=True)) == ["fresh"]
    assert CommandRun.objects.count() == 2, "the audit trail stays"


@pytest.mark.django_db
def test_channel_deliveries_older_than_a_month_go():
    for summary, age in [("old", timedelta(days=30, minutes=1)), ("recent", timedelta(days=29))]:
        sent = ChannelDelivery.objects.create(event="deploy", channel="console:ops", summary=summary, ok=True)
        ChannelDelivery.objects.filter(pk=sent.pk).update(created_at=timezone.now() - age)  # auto_now_add

    assert prune()["channel_deliveries"] == 1
    assert list(ChannelDelivery.objects.values_list("summary", flat=True)) == ["recent"]


@pytest.mark.django_db
def test_old_delivery_payloads_are_blanked_and_the_deliveries_stay(settings):
    settings.CHATOPS_WEBHOOK_PAYLOAD_DAYS = 14
    delivery("old", timedelta(days=15))
    delivery("old-failed", timedelta(days=15), outcome=DeliveryOutcome.FAILED)
    delivery("recent", timedelta(days=13))

    assert prune()["webhook_payloads"] == 2
    payloads = dict(WebhookDelivery.objects.values_list("delivery_id", "payload"))
    assert payloads == {"old": {}, "old-failed": {}, "recent": PAYLOAD}
    assert WebhookDelivery.objects.get(delivery_id="old").event == "pull_request", "the log keeps what came"


@pytest.mark.django_db
def test_a_delivery_still_waiting_for_a_worker_keeps_its_payload():
    delivery("waiting", timedelta(days=30), outcome=DeliveryOutcome.RECEIVED)

    assert prune()["webhook_payloads"] == 0
    assert WebhookDelivery.objects.get().payload == PAYLOAD


@pytest.mark.django_db
def test_the_payload_age_follows_the_setting(settings):
    settings.CHATOPS_WEBHOOK_PAYLOAD_DAYS = 3
    delivery("four-days", timedelta(days=4))

    prune()

    assert WebhookDelivery.objects.get().payload == {}


def test_a_delivery_with_a_blanked_payload_still_stops_its_redelivery(client, settings, db):
    settings.GITHUB_WEBHOOK_SECRET = secret = "housekeeping-secret"
    body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }

    def post():
        return client.post("/github/webhook", data=body, content_type="application/json", headers=headers)

    assert post().json()["duplicate"] is False
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(days=30))
    prune()

    again = post()

    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert WebhookDelivery.objects.get().payload == {}


@pytest.mark.django_db
def test_pruning_twice_is_harmless_and_logs_its_counts(caplog):
    slack_event("Ev-old", timedelta(days=2))
    slack_event("Ev-fresh", timedelta(minutes=5))
    install_state("expired", timedelta(hours=1))
    delivery("old", timedelta(days=20))

    with caplog.at_level(logging.INFO, logger="chatops"):
        first, second = prune(), prune()

    assert first == {
        "slack_events": 1,
        "slack_oauth_states": 1,
        "slack_response_urls": 0,
        "channel_deliveries": 0,
        "api_tokens": 0,
        "outgoing_webhook_deliveries": 0,
        "webhook_payloads": 1,
    }
    assert second == {
        "slack_events": 0,
        "slack_oauth_states": 0,
        "slack_response_urls": 0,
        "channel_deliveries": 0,
        "api_tokens": 0,
        "outgoing_webhook_deliveries": 0,
        "webhook_payloads": 0,
    }
    assert SlackEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "chatops.ops"]
    assert lines == [
        "housekeeping: deleted 1 Slack event ids, 1 Slack install states, 0 response_url counts and "
        "0 channel deliveries and 0 expired API tokens, blanked 1 GitHub payloads",
        "housekeeping: deleted 0 Slack event ids, 0 Slack install states, 0 response_url counts and "
        "0 channel deliveries and 0 expired API tokens, blanked 0 GitHub payloads",
    ]


def test_api_tokens_a_month_past_their_expiry_go(alice):
    for name, expired in [("long-gone", timedelta(days=31)), ("just-expired", timedelta(days=1))]:
        token, _ = ApiToken.issue(alice, name)
        ApiToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - expired)
    ApiToken.issue(alice, "valid")

    assert prune()["api_tokens"] == 1
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["just-expired", "valid"]


@pytest.mark.django_db
def test_the_migrations_schedule_the_housekeeping_daily():
    schedule = Schedule.objects.get(name="chatops-housekeeping")

    assert schedule.func == "chatops_site.ops.housekeeping.prune"
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.DAILY, -1)
