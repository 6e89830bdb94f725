"""Slack: replies rendered as Block Kit, follow-ups through `response_url`, channel posts with the bot token.

The HTTP side (slash commands, buttons, the deploy modal, events, install) is in `slack_views.py`.
Everything here talks to Slack and so runs in tasks, never while Slack waits for an acknowledgement.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from bots.models import CommandRun, PostedMessage, SlackResponseUrl
from bots.platforms import ChatPlatform
from bots.platforms.slack_install import bot_token
from bots.types import Button, Reply
from chatops_site import queue

log = logging.getLogger("chatops.slack")

# Slack honours a response_url 5 times within 30 minutes; a minute of margin for clocks and queues.
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = timedelta(minutes=29)
# Slack refuses longer texts in a section block.
SECTION_LIMIT = 3000
# Wait out 429 Retry-After (twice at most) and retry lost connections once.
RETRIES = [ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=2)]


def client(team_id: str = "", timeout: int = 10) -> WebClient:
    """A Web API client acting as the bot of this workspace."""
    return WebClient(token=bot_token(team_id), base_url=settings.SLACK_API_URL, timeout=timeout, retry_handlers=RETRIES)


# Block Kit


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def action_id(button: Button) -> str:
    """`approve:12`: what a click runs, readable in Slack's payload and unique within the message."""
    return f"{button.command}:{button.value}"[:255]


def blocks(reply: Reply) -> list[dict]:
    text = escape(reply.text)
    if "\n" in text:  # lists such as /status and /help line up in a fixed-width font
        text = f"```{text}```"
    rendered: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}]
    for start in range(0, len(reply.fields), 10):  # at most 10 fields per section
        chunk = reply.fields[start : start + 10]
        rendered.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": _clip(f"*{escape(label)}*\n{escape(value)}", 2000)}
                    for label, value in chunk
                ],
            }
        )
    if reply.links:
        links = " · ".join(f"<{url}|{escape(label)}>" for label, url in reply.links)
        rendered.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(links)}]})
    if reply.buttons:
        rendered.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": button.label[:75]},
                        "action_id": action_id(button),
                        "value": button.value[:2000],
                        "style": button.style,
                    }
                    for button in reply.buttons
                ],
            }
        )
    return rendered


def message(reply: Reply) -> dict:
    """Blocks, and a plain `text` for notifications and clients that show no blocks."""
    return {"text": _clip(reply.text), "blocks": blocks(reply)}


def acknowledgement(reply: Reply) -> dict:
    """The HTTP answer to a slash command."""
    return {"response_type": "in_channel" if reply.public else "ephemeral", **message(reply)}


# Sending


class SlackPlatform(ChatPlatform):
    name = "slack"

    def send(self, run: CommandRun, reply: Reply) -> None:
        """Follow up on a command: through its response_url while Slack honours it, then with the bot token.

        News about something with a key (a deployment) replaces the message the command was answered
        with, so it reads as one message that moves along.
        """
        if run.reply_handle and _claim_response_url(run):
            answer = WebhookClient(run.reply_handle, timeout=10, retry_handlers=RETRIES).send(
                **message(reply),
                response_type="in_channel" if reply.public else "ephemeral",
                replace_original=bool(reply.key),
            )
            if answer.status_code == 200:
                return
            log.warning(
                "response_url of run %s answered %s %s; using the bot token", run.pk, answer.status_code, answer.body
            )
            SlackResponseUrl.objects.filter(run=run).update(uses=RESPONSE_URL_USES)
        if reply.public:
            self.post(run.channel, reply, team_id=run.workspace)
        else:
            client(run.workspace).chat_postEphemeral(channel=run.channel, user=run.chat_user_id, **message(reply))

    def post(self, channel: str, reply: Reply, team_id: str = "") -> None:
        """Post to a channel; a reply with a key edits the message already posted there for that key.

        The app may be installed in several workspaces: a catalog channel can name its own
        (`T0123/C0456`), and a bare `C0456` is taken to be in the workspace of the last command typed there.
        """
        if "/" in channel:
            team_id, channel = channel.split("/", 1)
        api = client(team_id or _workspace_of(channel))
        posted = None
        if reply.key:
            posted = PostedMessage.objects.filter(platform=self.name, channel=channel, key=reply.key).first()
        if posted is not None:
            try:
                api.chat_update(channel=channel, ts=posted.message_id, **message(reply))
                return
            except SlackApiError as exc:
                if exc.response.get("error") != "message_not_found":
                    raise
                log.info("%s in %s was deleted; posting it again", reply.key, channel)
        answer = api.chat_postMessage(channel=channel, **message(reply))
        if reply.key:
            PostedMessage.objects.update_or_create(
                platform=self.name, channel=channel, key=reply.key, defaults={"message_id": answer["ts"]}
            )


def _workspace_of(channel: str) -> str:
    """The team a channel was last seen in, from the commands typed there; blank if none was."""
    runs = CommandRun.objects.filter(platform="slack", channel=channel).exclude(workspace="")
    return runs.order_by("-received_at", "-id").values_list("workspace", flat=True).first() or ""


def _claim_response_url(run: CommandRun) -> bool:
    """Take one use of the run's response_url, if it has one left and has not expired."""
    if run.received_at <= timezone.now() - RESPONSE_URL_LIFETIME:
        return False
    SlackResponseUrl.objects.get_or_create(run=run)
    claimed = SlackResponseUrl.objects.filter(run=run, uses__lt=RESPONSE_URL_USES).update(uses=F("uses") + 1)
    return claimed == 1


# Tasks: the views enqueue these after commit and answer Slack at once.


def later(task: str, *args) -> None:
    queue.enqueue(f"bots.platforms.slack.{task}", *args, group="slack")


def deliver(run_id: int, reply: Reply) -> None:
    """An answer that cannot travel in the HTTP response: button clicks, modal submissions, mentions."""
    SlackPlatform().send(CommandRun.objects.get(pk=run_id), reply)


def open_view(team_id: str, trigger_id: str, view: dict) -> None:
    client(team_id).views_open(trigger_id=trigger_id, view=view)
