"""`manage.py costs_backfill --days N`: fetch the last N days from Cost Explorer, replacing what we had."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from costs import explorer
from costs.ingest import ingest_last
from costs.periods import MAX_DAYS


class Command(BaseCommand):
    help = "Ingest the last N UTC days (today so far included) from AWS Cost Explorer; re-running replaces them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help=f"days to fetch, 1 to {MAX_DAYS} (default 30)")

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}")
        if not explorer.configured():
            raise CommandError(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run "
                "with an instance role) for an identity allowed ce:GetCostAndUsage"
            )
        try:
            run = ingest_last(days)
        except explorer.CostExplorerError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(run.describe())
        if run.forecast is not None:
            self.stdout.write(f"AWS forecasts ${run.forecast:,.2f} more from today to the end of the month.")
