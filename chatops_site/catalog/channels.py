"""Channel addresses as the catalog writes them (`slack:T0123/C0456`, `discord-webhook:https://...`), read once.

The catalog stores the text; validators, the catalog file and the chat platforms all read it through
`parse`, so what is accepted and where a message then goes cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HELP = (
    "Use slack:<channel id> (or slack:<team id>/<channel id>), discord:<channel id>, discord-webhook:<url> "
    "or console:<name>."
)
NAME = r"[\w.#-]+"
SLACK = re.compile(rf"(?:(?P<workspace>\w+)/)?(?P<channel>{NAME})")
WEBHOOK_URL = re.compile(r"https?://\S+")


class BadChannel(ValueError):
    """Text that is no channel address; the message says how to write one."""

    def __init__(self) -> None:
        super().__init__(HELP)


@dataclass(frozen=True)
class ChannelAddress:
    """Where a message goes: a platform, and a channel there (or a Discord channel webhook)."""

    platform: str  # slack | discord | console
    channel: str = ""  # Slack or Discord channel id, console channel name; blank for a webhook
    workspace: str = ""  # the Slack team, when the address names one
    webhook_url: str = ""  # a Discord channel webhook an admin copied from the channel settings

    def __str__(self) -> str:
        """The address as the catalog stores it."""
        if self.webhook_url:
            return f"discord-webhook:{self.webhook_url}"
        where = f"{self.workspace}/{self.channel}" if self.workspace else self.channel
        return f"{self.platform}:{where}"


def parse(text: str) -> ChannelAddress:
    """The address `text` names; `BadChannel` when it names none."""
    kind, _, rest = text.partition(":")
    if kind == "slack" and (found := SLACK.fullmatch(rest)):
        return ChannelAddress("slack", found["channel"], workspace=found["workspace"] or "")
    if kind in ("discord", "console") and re.fullmatch(NAME, rest):
        return ChannelAddress(kind, rest)
    if kind == "discord-webhook" and WEBHOOK_URL.fullmatch(rest):
        return ChannelAddress("discord", webhook_url=rest)
    raise BadChannel
