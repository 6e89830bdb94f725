"""Slack fixtures: the local Slack API, linked Slack users, and signed requests through the whole stack."""

from __future__ import annotations

import itertools
import json
import time
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from slack_sdk.signature import SignatureVerifier

from chatops_site.catalog.models import ChatIdentity, DeployTarget
from tests.stubs.slack_api import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, TEAM, SlackApi

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0CHAT"
DEPLOY_CHANNEL = "C0DEPLOY"
USERS = {"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL"}
_ids = itertools.count(1)


def signed_headers(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


@pytest.fixture(scope="session")
def slack_server():
    with SlackApi() as api:
        yield api


@pytest.fixture
def slack_api(slack_server, settings):
    """The local Slack the product talks to, fresh for each test, with the product configured for it."""
    slack_server.reset()
    settings.SLACK_API_URL = slack_server.api_url
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_BOT_TOKEN = BOT_TOKEN
    settings.SLACK_CLIENT_ID = CLIENT_ID
    settings.SLACK_CLIENT_SECRET = CLIENT_SECRET
    cache.clear()
    return slack_server


@pytest.fixture
def slack_users(catalog):
    """alice, bob and carol with Slack accounts in team T0001; web-app prod announces in #deploys."""
    for username, user_id in USERS.items():
        user = get_user_model().objects.get(username=username)
        ChatIdentity.objects.create(platform="slack", workspace=TEAM, chat_user_id=user_id, user=user)
    DeployTarget.objects.filter(service__name="web-app", environment__name="prod").update(
        channel=f"slack:{DEPLOY_CHANNEL}"
    )


class SlackClient:
    """Sends what Slack sends: signed slash commands, interaction payloads and events."""

    def __init__(self, client, api: SlackApi, capture) -> None:
        self.client = client
        self.api = api
        self.capture = capture

    def signed_post(self, path: str, body: str, content_type: str, headers: dict | None = None, run_tasks=True):
        """POST a signed body; tasks queued on commit then run, as a worker would run them."""
        with self.capture(execute=run_tasks):
            return self.client.post(
                path, data=body, content_type=content_type, headers={**signed_headers(body), **(headers or {})}
            )

    def command(self, line: str, user: str = "alice", channel: str = CHANNEL, team: str = TEAM, **kwargs):
        command, _, text = line.partition(" ")
        n = next(_ids)
        form = {
            "token": "legacy",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "ops",
            "user_id": USERS.get(user, user),
            "user_name": user,
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "response_url": self.api.response_url(f"cmd{n}"),
            "trigger_id": f"{n}.1.trigger",
        }
        return self.signed_post("/slack/commands", urlencode(form), "application/x-www-form-urlencoded", **kwargs)

    def interaction(self, payload: dict, **kwargs):
        body = f"payload={quote(json.dumps(payload))}"
        return self.signed_post("/slack/interactions", body, "application/x-www-form-urlencoded", **kwargs)

    def click(self, action_id: str, value: str, user: str = "bob", channel: str = DEPLOY_CHANNEL, trigger=None):
        n = next(_ids)
        return self.interaction(
            {
                "type": "block_actions",
                "user": {"id": USERS.get(user, user), "username": user, "name": user, "team_id": TEAM},
                "api_app_id": "A0APP",
                "token": "legacy",
                "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel},
                "trigger_id": trigger or f"{n}.2.trigger",
                "team": {"id": TEAM, "domain": "acme"},
                "channel": {"id": channel, "name": "deploys"},
                "response_url": self.api.response_url(f"click{n}"),
                "actions": [
                    {
                        "action_id": action_id,
                        "block_id": "b1",
                        "text": {"type": "plain_text", "text": "Approve"},
                        "value": value,
                        "type": "button",
                        "action_ts": f"1700000001.{n}",
                    }
                ],
            }
        )

    def event(self, event: dict, event_id: str, headers: dict | None = None, **kwargs):
        envelope = {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
        }
        return self.signed_post("/slack/events", json.dumps(envelope), "application/json", headers=headers, **kwargs)


@pytest.fixture
def slack(client, slack_api, slack_users, django_capture_on_commit_callbacks):
    return SlackClient(client, slack_api, django_capture_on_commit_callbacks)
