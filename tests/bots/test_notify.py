"""The one door to chat: every delivery is recorded, and a channel that fails spares the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bots.models import ChannelDelivery, ConsoleMessage
from bots.notify import ChatNotifier, notify
from bots.types import Reply
from chatops_site.catalog.models import ChannelRoute, Service
from chatops_site.deploys.models import Deployment
from tests.stubs.discord_api import DiscordStub
from tests.stubs.slack_api import BOT_TOKEN, SlackApi

DISCORD_CHANNEL = "82000000000000002"


@pytest.fixture
def slack_api(settings):
    with SlackApi() as api:
        settings.SLACK_API_URL = api.api_url
        settings.SLACK_BOT_TOKEN = BOT_TOKEN
        yield api


@pytest.fixture
def discord_api(settings):
    with DiscordStub() as api:
        settings.DISCORD_API_URL = api.url
        settings.DISCORD_APPLICATION_ID = api.application_id
        settings.DISCORD_BOT_TOKEN = api.bot_token
        yield api


@pytest.fixture
def deploy_routes(catalog):
    """Deploys of web-app are heard in a Slack channel and a Discord channel."""
    web_app = Service.objects.get(name="web-app")
    ChannelRoute.objects.create(events=["deploy"], service=web_app, channel="slack:C0DEPLOY")
    ChannelRoute.objects.create(events=["deploy"], service=web_app, channel=f"discord:{DISCORD_CHANNEL}")
    return web_app


def test_a_failing_channel_gets_a_failed_delivery_and_the_other_channel_still_hears_it(
    slack_api, discord_api, deploy_routes
):
    slack_api.tokens = {"xoxb-another-token"}  # Slack no longer takes ours: invalid_auth

    deliveries = notify("deploy", Reply("Deploy #7 succeeded\nweb-app v2 to prod", public=True), service=deploy_routes)

    assert [(d.channel, d.ok) for d in deliveries] == [("slack:C0DEPLOY", False), (f"discord:{DISCORD_CHANNEL}", True)]
    failed = ChannelDelivery.objects.get(channel="slack:C0DEPLOY")
    assert (failed.event, failed.summary, failed.ok) == ("deploy", "Deploy #7 succeeded", False)
    assert "invalid_auth" in failed.error
    assert [m.content for m in discord_api.in_channel(DISCORD_CHANNEL)] == ["Deploy #7 succeeded\nweb-app v2 to prod"]
    assert ChannelDelivery.objects.get(channel=f"discord:{DISCORD_CHANNEL}").error == ""


def test_a_channel_the_catalog_cannot_read_is_a_failed_delivery_not_a_lost_fan_out(catalog, settings):
    settings.CHATOPS_DEFAULT_CHANNEL = "teams:general"
    ChannelRoute.objects.create(events=["cost_digest"], channel="console:finance")

    notify("cost_digest", Reply("Costs"), channels=["console:ops"], fallback=False)
    notify("pull_request", Reply("PR #1 opened"), repository="acme/web-app")

    assert [(d.event, d.channel, d.ok) for d in ChannelDelivery.objects.order_by("id")] == [
        ("cost_digest", "console:ops", True),
        ("cost_digest", "console:finance", True),
        ("pull_request", "teams:general", False),
    ]
    assert ChannelDelivery.objects.get(ok=False).error.startswith("BadChannel: Use slack:<channel id>")
    assert set(ConsoleMessage.objects.values_list("channel", flat=True)) == {"ops", "finance"}


def test_channels_that_already_heard_it_are_skipped(catalog):
    ChannelRoute.objects.create(events=["cost_anomaly"], channel="console:finance")
    ChannelRoute.objects.create(events=["cost_anomaly"], channel="console:web-team")

    deliveries = notify("cost_anomaly", Reply("web-app is up 80%"), fallback=False, skip=["console:finance"])

    assert [d.channel for d in deliveries] == ["console:web-team"]


def test_a_deployment_is_told_to_the_runs_that_acted_on_it_and_to_its_channels(say, deploy_routes, discord_api):
    ChannelRoute.objects.filter(channel="slack:C0DEPLOY").delete()

    say("alice", "/deploy web-app staging v2")

    deliveries = ChannelDelivery.objects.order_by("id")
    # The requester's run, the target's own channel and the routes.
    assert {d.channel or "run" for d in deliveries} == {"run", "console:ops", f"discord:{DISCORD_CHANNEL}"}
    assert all(d.ok and d.event == "deploy" and d.key.startswith("deployment:") for d in deliveries)
    assert {d.run.user.username for d in deliveries if d.run} == {"alice"}
    (message,) = discord_api.in_channel(DISCORD_CHANNEL)  # one message per deployment, edited as it moves
    assert message.content.endswith("succeeded")


def test_failed_deliveries_are_listed_apart_in_the_admin_and_cannot_be_changed(admin_client, catalog, settings):
    settings.CHATOPS_DEFAULT_CHANNEL = "teams:general"
    notify("pull_request", Reply("PR #1 opened"), repository="acme/web-app")
    notify("cost_digest", Reply("Costs"), channels=["console:ops"], fallback=False)

    failures = admin_client.get("/admin/bots/channeldelivery/?ok__exact=0")

    assert failures.status_code == 200
    assert b"teams:general" in failures.content and b"console:ops" not in failures.content
    assert admin_client.get("/admin/bots/channeldelivery/add/").status_code == 403


def test_a_deployment_message_whose_last_post_failed_is_posted_again_once_it_gets_through(say):
    say("alice", "/deploy web-app staging v1")
    deployment = Deployment.objects.get()
    key = f"deployment:{deployment.pk}"
    ChannelDelivery.objects.create(event="deploy", channel="console:ops", key=key, summary="running", ok=False)
    since = timezone.now() - timedelta(hours=1)
    before = ConsoleMessage.objects.filter(channel="ops").count()

    assert ChatNotifier().mend(since) == 1  # the failed post is the last one: the message is posted again
    assert ChatNotifier().mend(since) == 0  # that post got through: nothing more

    (latest,) = ConsoleMessage.objects.filter(channel="ops").order_by("-id")[:1]
    assert ConsoleMessage.objects.filter(channel="ops").count() == before + 1
    assert latest.text.startswith(f"✅ Deploy #{deployment.pk} of web-app v1 to staging succeeded")
    assert ChannelDelivery.objects.filter(key=key).order_by("-id").first().ok
