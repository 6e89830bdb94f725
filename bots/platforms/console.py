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


class ConsolePlatform(ChatPlatform):
    name = "console"

    def send(self, run: CommandRun, reply: Reply) -> None:
        ConsoleMessage.objects.create(run=run, text=reply.plain(), final=reply.final)

    def post(self, address: ChannelAddress, reply: Reply) -> None:
        """Every post is a new message: a terminal cannot edit what it printed."""
        ConsoleMessage.objects.create(channel=address.channel, text=reply.plain(), final=reply.final)
