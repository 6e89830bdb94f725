"""The Slack platform: follow-ups through `response_url`, channel posts and private answers with the bot token.

The HTTP side (slash commands, buttons, the deploy modal, events, install) is in `views.py`.
Everything here talks to Slack and so runs in tasks, never while Slack waits for an acknowledgement.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from bots.models import CommandRun, SlackResponseUrl
from bots.platforms import ChatPlatform
from bots.platforms.slack.api import SlackAPI, SlackError, respond
from bots.platforms.slack.blocks import message
from bots.platforms.slack.install import bot_token
from bots.types import Reply
from chatops_site.catalog.channels import ChannelAddress

log = logging.getLogger("chatops.slack")

# Slack honours a response_url 5 times within 30 minutes; a minute of margin for clocks and queues.
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = timedelta(minutes=29)


class SlackPlatform(ChatPlatform):
    name = "slack"

    def send(self, run: CommandRun, reply: Reply) -> None:
        """Follow up on a command: through its response_url while Slack honours it, then with the bot token.

        News about something with a key (a deployment) replaces the message the command was answered
        with, so it reads as one message that moves along.
        """
        if run.reply_handle and _claim_response_url(run):
            answer = {
                **message(reply),
                "response_type": "in_channel" if reply.public else "ephemeral",
                "replace_original": bool(reply.key),
            }
            try:
                respond(run.reply_handle, answer)
                return
            except SlackError as exc:
                if not exc.status:  # Slack never answered: nothing says the URL is spent
                    raise
                log.warning("response_url of run %s: %s; using the bot token", run.pk, exc)
            SlackResponseUrl.objects.filter(run=run).update(uses=RESPONSE_URL_USES)
        if reply.public:
            self.post(ChannelAddress(self.name, run.channel, workspace=run.workspace), reply)
        else:
            SlackAPI(bot_token(run.workspace)).post_ephemeral(run.channel, run.chat_user_id, message(reply))

    def create(self, address: ChannelAddress, reply: Reply) -> str:
        return _api(address).post_message(address.channel, message(reply))

    def edit(self, address: ChannelAddress, message_id: str, reply: Reply) -> None:
        _api(address).update(address.channel, message_id, message(reply))

    def gone(self, error: Exception) -> bool:
        return isinstance(error, SlackError) and error.code == "message_not_found"


def _api(address: ChannelAddress) -> SlackAPI:
    """The bot of the channel's workspace.

    The app may be installed in several workspaces: a catalog channel can name its own (`T0123/C0456`),
    and a bare `C0456` is taken to be in the workspace of the last command typed there.
    """
    return SlackAPI(bot_token(address.workspace or _workspace_of(address.channel)))


def _workspace_of(channel: str) -> str:
    """The team a channel was last seen in, from the commands typed there; blank if none was."""
    runs = CommandRun.objects.filter(platform="slack", channel=channel).exclude(workspace="")
    return runs.order_by("-received_at", "-id").values_list("workspace", flat=True).first() or ""


def _claim_response_url(run: CommandRun) -> bool:
    """Take one use of the run's response_url, if it has one left and has not expired."""
    if run.received_at <= timezone.now() - RESPONSE_URL_LIFETIME:
        return False
    if SlackResponseUrl.objects.get_or_create(run=run, defaults={"uses": 1})[1]:
        return True  # the first use, the common case: one write
    claimed = SlackResponseUrl.objects.filter(run=run, uses__lt=RESPONSE_URL_USES).update(uses=F("uses") + 1)
    return claimed == 1
