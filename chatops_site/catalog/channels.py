"""Channel addresses as the catalog writes them (`slack:T0123/C0456`, `discord-webhook:https://...`), read once.

The catalog stores the text; validators, the catalog file and the chat platforms all read it through
`parse`, so what is accepted and where a message then goes cannot drift apart.

A `discord-webhook:` address is a URL the product will POST to, so only Discord's own webhooks are taken:
`https://discord.com/api/webhooks/<id>/<token>` (also on discordapp.com, and on the ptb. and canary. hosts
of both), or a webhook on the origin DISCORD_API_URL names, which is where the operator already sends
Discord's traffic (a proxy; the tests' local Discord). Any other host, plain http to Discord, or an
internal address is refused, whoever writes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

HELP = (
    "Use slack:<channel id> (or slack:<team id>/<channel id>), discord:<channel id>, discord-webhook:<url> "
    "or console:<name>."
)
NAME = r"[\w.#-]+"
SLACK = re.compile(rf"(?:(?P<workspace>\w+)/)?(?P<channel>{NAME})")
DISCORD_ORIGINS = frozenset(
    f"https://{sub}{domain}:443" for sub in ("", "ptb.", "canary.") for domain in ("discord.com", "discordapp.com")
)
WEBHOOK_PATH = re.compile(r"(?:/[\w-][\w.-]*)*/webhooks/\d+/[\w-]+")
WEBHOOK_HELP = (
    "A discord-webhook: address must be a Discord channel webhook, https://discord.com/api/webhooks/<id>/<token> "
    "(or on discordapp.com, ptb. or canary.), as the channel's Integrations > Webhooks copies it."
)


class BadChannel(ValueError):
    """Text that is no channel address; the message says how to write one."""

    def __init__(self, message: str = HELP) -> None:
        super().__init__(message)


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
    if kind == "discord-webhook":
        if not _discord_webhook(rest):
            raise BadChannel(WEBHOOK_HELP)
        return ChannelAddress("discord", webhook_url=rest)
    raise BadChannel


def _discord_webhook(url: str) -> bool:
    try:
        parts = urlsplit(url)
        origin = _origin(url)
    except ValueError:  # a port that is no number
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return False
    if parts.query or parts.fragment or not WEBHOOK_PATH.fullmatch(parts.path):
        return False
    return origin in DISCORD_ORIGINS or origin == _origin(settings.DISCORD_API_URL)


def _origin(url: str) -> str:
    """`scheme://host:port`, the port written out, so that two spellings of one origin compare equal."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"
