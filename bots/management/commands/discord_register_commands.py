"""`manage.py discord_register_commands [--guild ID] [--dry-run]`: upload the slash commands to Discord.

A bulk overwrite (PUT) replaces every command of the application, so commands removed from the
registry disappear from Discord too. Guild commands appear at once; global ones can take a while.
https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bots.platforms.discord.api import DiscordAPI, DiscordError
from bots.platforms.discord.commands import definitions


class Command(BaseCommand):
    help = "Register the bot's slash commands with Discord (globally, or in one guild), generated from the grammar."

    def add_arguments(self, parser):
        parser.add_argument("--guild", default="", help="a guild (server) id: register there only, effective at once")
        parser.add_argument("--dry-run", action="store_true", help="print the JSON that would be sent, send nothing")

    def handle(self, *args, guild, dry_run, **options):
        payload = definitions()
        if dry_run:
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))
            return
        missing = [name for name in ("DISCORD_APPLICATION_ID", "DISCORD_BOT_TOKEN") if not getattr(settings, name)]
        if missing:
            raise CommandError(f"set {' and '.join(missing)} first (or use --dry-run)")
        try:
            registered = DiscordAPI().overwrite_commands(payload, guild=guild)
        except DiscordError as exc:
            raise CommandError(str(exc)) from None
        where = f"in guild {guild}" if guild else "globally"
        names = ", ".join(f"/{c['name']}" for c in registered)
        self.stdout.write(f"Registered {len(registered)} commands {where}: {names}")
