"""The console platform (our Hubot shell), also behind the web command box.

Commands come from `manage.py chatops`; follow-ups produced by queue workers are stored as
`ConsoleMessage` rows, which the console prints as they arrive.
"""

from __future__ import annotations

from bots.models import CommandRun, ConsoleMessage
from bots.platforms import ChatPlatform
from bots.types import Reply
from chatops_site.catalog.channels import ChannelAddress

WORKSPACE = "local"


def render(reply: Reply) -> str:
    """Plain text, as a terminal shows it."""
    lines = [reply.text]
    lines += [f"  {label}: {value}" for label, value in reply.fields]
    lines += [f"  {label}: {url}" for label, url in reply.links]
    if reply.buttons:
        lines.append("  " + "   ".join(f"[{b.label}: /{b.command} {b.value}]" for b in reply.buttons))
    return "\n".join(lines)


class ConsolePlatform(ChatPlatform):
    name = "console"

    def send(self, run: CommandRun, reply: Reply) -> None:
        ConsoleMessage.objects.create(run=run, text=render(reply), final=reply.final)

    def post(self, address: ChannelAddress, reply: Reply) -> None:
        """Every post is a new message: a terminal cannot edit what it printed."""
        ConsoleMessage.objects.create(channel=address.channel, text=render(reply), final=reply.final)
