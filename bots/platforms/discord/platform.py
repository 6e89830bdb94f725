"""The Discord platform: answers and posts through Discord's API.

A command's news edits its original response and adds follow-ups while the interaction token lives
(15 minutes), then goes out with the bot token: public news to the channel, a private answer to a
direct message.
https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from bots.models import CommandRun, PostedMessage
from bots.platforms import ChatPlatform
from bots.platforms.discord.api import DiscordAPI, DiscordError
from bots.platforms.discord.rendering import EPHEMERAL, render
from bots.types import Reply
from chatops_site.catalog.channels import ChannelAddress

log = logging.getLogger("chatops.discord")

PLATFORM = "discord"
TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_MARGIN = timedelta(seconds=30)  # stop using a token a little early rather than lose a message


class DiscordPlatform(ChatPlatform):
    name = PLATFORM

    def __init__(self) -> None:
        self.api = DiscordAPI()

    def send(self, run: CommandRun, reply: Reply) -> None:
        """Through the interaction's webhook while its token lives; to the channel (or a DM) after that."""
        if run.reply_handle and timezone.now() < run.received_at + TOKEN_LIFETIME - TOKEN_MARGIN:
            try:
                self._follow_up(run, reply)
                return
            except DiscordError as exc:
                if not exc.gone:
                    raise
                log.info("run %s: the interaction token no longer works (%s); using the bot token", run.pk, exc)
        # Only the channel's public news goes to the channel; a private answer goes to a direct message.
        channel = run.channel if reply.public else self.api.open_dm(run.chat_user_id)
        self.post(ChannelAddress(PLATFORM, channel), reply)

    def create(self, address: ChannelAddress, reply: Reply) -> str:
        if address.webhook_url:
            return self.api.execute_webhook(address.webhook_url, render(reply, interactive=False))
        return self.api.create_message(address.channel, render(reply))

    def edit(self, address: ChannelAddress, message_id: str, reply: Reply) -> None:
        if address.webhook_url:
            self.api.edit_webhook_message(address.webhook_url, message_id, render(reply, interactive=False))
        else:
            self.api.edit_message(address.channel, message_id, render(reply))

    def gone(self, error: Exception) -> bool:
        return isinstance(error, DiscordError) and error.gone

    def _follow_up(self, run: CommandRun, reply: Reply) -> None:
        """The first news replaces the original answer; later news edits the message of its key or adds one."""
        where = f"interaction:{run.pk}"
        sent = PostedMessage.objects.filter(platform=PLATFORM, channel=where)
        message = render(reply)
        known = sent.filter(key=reply.key).first() if reply.key else None
        if known is not None:
            self.api.edit_follow_up(run.reply_handle, known.message_id, message)
            return
        if not sent.exists():
            self.api.edit_original(run.reply_handle, message)
            message_id = "@original"
        else:
            flags = {} if reply.public else {"flags": EPHEMERAL}
            message_id = self.api.follow_up(run.reply_handle, {**message, **flags})
        PostedMessage.objects.get_or_create(
            platform=PLATFORM, channel=where, key=reply.key, defaults={"message_id": message_id}
        )
