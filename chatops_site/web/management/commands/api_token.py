"""`manage.py api_token alice --name ci --days 30`: make an API token for someone, print its key once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatops_site.web.models import ApiToken


class Command(BaseCommand):
    help = "Make an API token for a user and print its key, the last word of the last line; it is not kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="manage.py api_token", help="what the token is for, e.g. ci")
        parser.add_argument("--days", type=int, help="days until it expires (default CHATOPS_API_TOKEN_DAYS)")

    def handle(self, *args: Any, username: str, name: str, days: int | None, **options: Any) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"there is no user {username!r}") from None
        token, key = ApiToken.issue(user, name, days)
        self.stdout.write(f"API token {name!r} for {username}, expires {token.expiry_text}. Its key, shown this once:")
        self.stdout.write(key)
