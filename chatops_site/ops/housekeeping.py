"""Daily task: forget rows that de-duplicate, guard a short flow or show recent deliveries, once they cannot matter.

Scheduled by migration ops/0003. Each step is one query and safe to run twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from bots.models import ChannelDelivery, SlackEvent, SlackOAuthState, SlackResponseUrl
from chatops_site.web.models import ApiToken
from chatops_site.webhooks import sending as outgoing_webhooks
from integrations.github.models import DeliveryOutcome, WebhookDelivery

log = logging.getLogger("chatops.ops")

# Slack retries an Events API delivery within minutes and a response_url lives 30; a day later they are dead.
SLACK_EVENT_TTL = timedelta(days=1)
# A month of deliveries shows when a channel stopped hearing the bot; an older failure is fixed or fails still.
CHANNEL_DELIVERY_TTL = timedelta(days=30)
# For a month an expired API token is refused with "expired on ..."; then it is only an unknown key.
EXPIRED_TOKEN_TTL = timedelta(days=30)


def prune() -> dict[str, int]:
    """Delete old Slack event ids, install states, response_url counts, deliveries and long-expired API tokens;
    blank old GitHub payloads."""
    now = timezone.now()
    slack_events, _ = SlackEvent.objects.filter(received_at__lt=now - SLACK_EVENT_TTL).delete()
    # A used state is deleted by the callback itself; what is left over is an install never finished.
    slack_states, _ = SlackOAuthState.objects.filter(created_at__lt=now - SlackOAuthState.LIFETIME).delete()
    # A response_url dies 30 minutes after its command; its use count is never read again.
    response_urls, _ = SlackResponseUrl.objects.filter(run__received_at__lt=now - SLACK_EVENT_TTL).delete()
    deliveries, _ = ChannelDelivery.objects.filter(created_at__lt=now - CHANNEL_DELIVERY_TTL).delete()
    tokens, _ = ApiToken.objects.filter(expiry__lt=now - EXPIRED_TOKEN_TTL).delete()
    outgoing = outgoing_webhooks.forget(now - CHANNEL_DELIVERY_TTL)  # finished ones; a month shows a pattern
    # The delivery row stays: it is the log, and it stops GitHub redeliveries. A delivery still waiting
    # for a worker keeps its payload, so it can still be handled.
    payloads = (
        WebhookDelivery.objects.filter(received_at__lt=now - timedelta(days=settings.CHATOPS_WEBHOOK_PAYLOAD_DAYS))
        .exclude(outcome=DeliveryOutcome.RECEIVED)
        .exclude(payload={})
        .update(payload={})
    )
    counts = {
        "slack_events": slack_events,
        "slack_oauth_states": slack_states,
        "slack_response_urls": response_urls,
        "channel_deliveries": deliveries,
        "api_tokens": tokens,
        "outgoing_webhook_deliveries": outgoing,
        "webhook_payloads": payloads,
    }
    log.info(
        "housekeeping: deleted %s Slack event ids, %s Slack install states, %s response_url counts and "
        "%s channel deliveries and %s expired API tokens, blanked %s GitHub payloads",
        slack_events,
        slack_states,
        response_urls,
        deliveries,
        tokens,
        payloads,
    )
    return counts
