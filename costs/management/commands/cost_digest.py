"""`manage.py cost_digest [--print]`: build the morning cost digest now and post it to its routes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from costs import digest


class Command(BaseCommand):
    help = "Post yesterday's cost digest now to the channels routed for cost_digest (and anomalies to cost_anomaly)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--print", action="store_true", dest="show", help="also print it here")

    def handle(self, *args: Any, show: bool, **options: Any) -> None:
        sent = digest.send()
        if sent is None:
            self.stdout.write("No cost data for yesterday yet: run `manage.py costs_backfill --days 30` first.")
            return
        if show:
            self.stdout.write(sent.reply.plain())
        where = ", ".join(sent.posted_to) or "no channel (add a cost_digest route or set CHATOPS_DEFAULT_CHANNEL)"
        self.stdout.write(f"Posted to {where}.")
