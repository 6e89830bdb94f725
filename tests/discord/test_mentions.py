"""Text people typed (a lock reason, a reject reason) cannot ping @everyone, @here, a role or a user:
every message the bot sends or edits on Discord says `allowed_mentions: {"parse": []}`."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from bots.models import CommandRun
from bots.platforms.discord.platform import DiscordPlatform
from bots.types import Button, Reply
from chatops_site.catalog.channels import ChannelAddress
from chatops_site.deploys.models import Deployment
from tests.discord.conftest import CHANNEL, GUILD, USERS, click

TYPED = "@everyone @here <@&4242> <@91002> look"
PINGS_NOBODY = {"parse": []}


def _run(minutes_ago: int = 0) -> CommandRun:
    return CommandRun.objects.create(
        platform="discord",
        workspace=GUILD,
        channel=CHANNEL,
        chat_user_id=USERS["alice"],
        reply_handle=f"token-{minutes_ago}",
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_every_message_sent_or_edited_through_the_api_pings_nobody(discord_api, catalog):
    discord = DiscordPlatform()
    fresh = _run()
    discord.send(fresh, Reply(TYPED, public=True, key="deployment:1"))  # replaces the original answer
    discord.send(fresh, Reply(TYPED))  # a follow-up
    discord.send(fresh, Reply(TYPED, public=True, key="deployment:1"))  # edits the keyed one
    stale = _run(minutes_ago=20)  # the interaction token has expired: the bot token takes over
    discord.send(stale, Reply(TYPED, public=True, key="deployment:2"))  # to the channel
    discord.send(stale, Reply(TYPED, public=True, key="deployment:2"))  # edited there
    discord.send(stale, Reply(TYPED))  # a direct message
    webhook = ChannelAddress("discord", webhook_url=discord_api.webhook_url())
    for _ in range(2):  # posted through an admin's channel webhook, then edited
        discord.post(
            webhook, Reply(TYPED, public=True, key="deployment:3", buttons=[Button("Approve", "approve", "3")])
        )

    bodies = [body for message in discord_api.messages.values() for body in message.versions]
    kinds = {message.where.partition(":")[0] for message in discord_api.messages.values()}
    assert kinds == {"interaction", "channel", "webhook"} and len(bodies) == 8
    for body in bodies:
        assert body["allowed_mentions"] == PINGS_NOBODY
        assert TYPED in body["content"]


def test_a_buttons_answer_pings_nobody(interact, say):
    say("alice", "/deploy web-app prod v9")
    waiting = Deployment.objects.get()

    answer = interact(click(f"approve:{waiting.pk}", user="bob"))

    assert answer["type"] == 7  # the clicked message, updated
    assert answer["data"]["allowed_mentions"] == PINGS_NOBODY
