"""What the Slack views queue after commit, so that they answer Slack at once and call it only from a worker."""

from __future__ import annotations

from bots.models import CommandRun
from bots.platforms.slack.api import SlackAPI
from bots.platforms.slack.install import bot_token
from bots.platforms.slack.platform import SlackPlatform
from bots.types import Reply
from chatops_site import queue


def later(task: str, *args) -> None:
    queue.enqueue(f"bots.platforms.slack.tasks.{task}", *args, group="slack")


def deliver(run_id: int, reply: Reply) -> None:
    """An answer that cannot travel in the HTTP response: button clicks, modal submissions, mentions."""
    SlackPlatform().send(CommandRun.objects.get(pk=run_id), reply)


def open_view(team_id: str, trigger_id: str, view: dict) -> None:
    SlackAPI(bot_token(team_id)).open_view(trigger_id, view)
