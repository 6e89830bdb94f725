"""Chat platforms behind one small interface."""

from __future__ import annotations

import logging

from django.utils.module_loading import import_string

from bots.models import CommandRun, PostedMessage
from bots.types import Reply
from chatops_site.catalog.channels import ChannelAddress, parse

log = logging.getLogger("chatops.notify")

PLATFORMS = {
    "console": "bots.platforms.console.ConsolePlatform",
    "web": "bots.platforms.console.ConsolePlatform",
    "slack": "bots.platforms.slack.platform.SlackPlatform",
    "discord": "bots.platforms.discord.platform.DiscordPlatform",
}


class ChatPlatform:
    """What every platform module provides to the engine and the notifier."""

    name = ""

    def send(self, run: CommandRun, reply: Reply) -> None:
        """A follow-up to the person who ran a command, through that command's reply handle."""
        raise NotImplementedError

    def post(self, address: ChannelAddress, reply: Reply) -> None:
        """A message to a channel, outside of any command; a reply with a key edits the one posted there for it.

        A deployment's request, progress and result thus read as one message that moves along. A message
        someone deleted is posted again.
        """
        # A webhook has no channel id: its messages are remembered under the whole address.
        channel = address.channel or str(address)
        posted = None
        if reply.key:
            posted = PostedMessage.objects.filter(platform=self.name, channel=channel, key=reply.key).first()
        if posted is not None:
            try:
                self.edit(address, posted.message_id, reply)
                return
            except Exception as exc:
                if not self.gone(exc):
                    raise
                log.info("the message for %s in %s is gone; posting it again", reply.key, channel)
        message_id = self.create(address, reply)
        if reply.key:
            PostedMessage.objects.update_or_create(
                platform=self.name, channel=channel, key=reply.key, defaults={"message_id": message_id}
            )

    def create(self, address: ChannelAddress, reply: Reply) -> str:
        """Post a new message; its id, for later edits."""
        raise NotImplementedError

    def edit(self, address: ChannelAddress, message_id: str, reply: Reply) -> None:
        raise NotImplementedError

    def gone(self, error: Exception) -> bool:
        """Whether `edit` failed because the message no longer exists."""
        return False


def get_platform(name: str) -> ChatPlatform | None:
    path = PLATFORMS.get(name)
    return import_string(path)() if path else None


def post_to_channel(channel: str, reply: Reply) -> None:
    """Post to a channel written as in the catalog: `slack:C0123`, `discord:1122`, `console:ops`..."""
    address = parse(channel)
    import_string(PLATFORMS[address.platform])().post(address, reply)
