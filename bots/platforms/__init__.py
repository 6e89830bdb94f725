"""Chat platforms behind one small interface."""

from __future__ import annotations

import logging

from django.utils.module_loading import import_string

from bots.models import CommandRun
from bots.types import Reply

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

    def post(self, channel: str, reply: Reply) -> None:
        """A message to a channel, outside of any command."""
        raise NotImplementedError


def get_platform(name: str) -> ChatPlatform | None:
    path = PLATFORMS.get(name)
    return import_string(path)() if path else None


def post_to_channel(channel: str, reply: Reply) -> None:
    """Post to a channel written as in the catalog: `slack:C0123`, `discord:1122`, `console:ops`..."""
    kind, _, address = channel.partition(":")
    platform = get_platform("discord" if kind == "discord-webhook" else kind)
    if platform is None:
        log.warning("no %s platform is configured; dropped a message for %s", kind, channel)
        return
    platform.post(channel if kind == "discord-webhook" else address, reply)
