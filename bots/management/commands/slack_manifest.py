"""`manage.py slack_manifest --url https://ops.example.com`: the Slack app manifest, ready to paste."""

from __future__ import annotations

import json

import yaml
from django.core.management.base import BaseCommand, CommandError

from bots.command_engine import UMBRELLA
from bots.platforms.slack.install import BOT_SCOPES
from bots.registry import COMMANDS

# Slack allows slash command descriptions and usage hints of at most 100 characters each.
SLASH_LIMIT = 100


def manifest(url: str, name: str) -> dict:
    url = url.rstrip("/")
    slash = [
        {
            "command": f"/{cmd.name}",
            "url": f"{url}/slack/commands",
            "description": cmd.summary[:SLASH_LIMIT],
            "usage_hint": " ".join(arg.usage for arg in cmd.args)[:SLASH_LIMIT],
            "should_escape": False,
        }
        for cmd in sorted(COMMANDS.values(), key=lambda c: c.name)
    ]
    slash.append(
        {
            "command": f"/{UMBRELLA}",
            "url": f"{url}/slack/commands",
            "description": "Any ChatOps command: /ops deploy web-app staging",
            "usage_hint": "<command> [arguments...]",
            "should_escape": False,
        }
    )
    for entry in slash:  # Slack refuses an empty usage hint
        if not entry["usage_hint"]:
            del entry["usage_hint"]
    return {
        "display_information": {
            "name": name,
            "description": "Deploy, roll back, lock and watch services from Slack",
            "background_color": "#2c2d30",
        },
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": slash,
        },
        "oauth_config": {
            "redirect_urls": [f"{url}/slack/oauth/callback"],
            "scopes": {"bot": BOT_SCOPES},
        },
        "settings": {
            "event_subscriptions": {"request_url": f"{url}/slack/events", "bot_events": ["app_mention"]},
            "interactivity": {"is_enabled": True, "request_url": f"{url}/slack/interactions"},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }


class Command(BaseCommand):
    help = "Print a Slack app manifest for this server: every slash command, interactivity, events, scopes."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="the public https base URL of this server")
        parser.add_argument("--name", default="ChatOps", help="the app and bot name shown in Slack")
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml")

    def handle(self, *args, url, name, format, **options):
        if not url.startswith("https://"):
            raise CommandError("Slack only calls https URLs: pass --url https://your-host")
        data = manifest(url, name)
        if format == "json":
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
