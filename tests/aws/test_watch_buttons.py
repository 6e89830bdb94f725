"""The Rollback button on an unhealthy deploy's message in Slack: `/rollback` as whoever clicks, every rule kept."""

from __future__ import annotations

import pytest

from bots.models import CommandRun
from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys import tasks
from chatops_site.deploys.models import Deployment, Kind, State, Watch
from tests.aws.test_watch import WATCH, put_alarm, set_alarm
from tests.slack.conftest import DEPLOY_CHANNEL, slack, slack_api, slack_server, slack_users  # noqa: F401

ROLLBACK = "rollback:web-app staging v1"


@pytest.fixture
def unhealthy(aws, slack, django_capture_on_commit_callbacks):  # noqa: F811
    """alice shipped v1 then v2 to staging from Slack; web-5xx went off after v2: its message offers Roll back."""
    DeployTarget.objects.filter(service__name="web-app", environment__name="staging").update(
        watch=WATCH, channel=f"slack:{DEPLOY_CHANNEL}"
    )
    put_alarm("web-5xx")
    slack.command("/deploy web-app staging v1")
    slack.command("/deploy web-app staging v2")
    set_alarm("web-5xx", "ALARM")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    deployment = Deployment.objects.get(version="v2")
    assert deployment.watch == Watch.UNHEALTHY
    return deployment


def _message(slack):  # noqa: F811
    (message,) = [m for m in slack.api.channel_messages(DEPLOY_CHANNEL) if "v2" in m["text"]]
    return message


def _buttons(message):
    return {e["action_id"]: e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def test_the_unhealthy_message_is_edited_in_place_and_offers_roll_back(slack, unhealthy):  # noqa: F811
    message = _message(slack)

    assert "succeeded · ⚠️ unhealthy: web-5xx in ALARM since" in message["text"]
    button = _buttons(message)[ROLLBACK]
    assert (button["text"]["text"], button["value"], button["style"]) == ("Roll back", "web-app staging v1", "danger")


def test_a_click_without_the_rollback_grant_is_refused_privately(slack, unhealthy):  # noqa: F811
    updates = len(slack.api.api_calls("chat.update"))

    slack.click(ROLLBACK, "web-app staging v1", user="carol")

    run = CommandRun.objects.get(command="rollback")
    (sent,) = slack.api.responses[run.reply_handle.rsplit("/", 1)[1]]
    assert (sent["response_type"], sent["replace_original"]) == ("ephemeral", False)
    assert sent["text"] == "carol may not rollback web-app in staging: ask an admin for the 'rollback' grant."
    assert (run.user.username, run.outcome) == ("carol", "refused")
    assert not Deployment.objects.filter(kind=Kind.ROLLBACK).exists()
    assert len(slack.api.api_calls("chat.update")) == updates
    assert ROLLBACK in _buttons(_message(slack))


def test_a_click_with_the_grant_rolls_back_as_the_clicker(slack, unhealthy):  # noqa: F811
    slack.click(ROLLBACK, "web-app staging v1", user="alice")

    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert (rollback.version, rollback.requested_by.username, rollback.by_watch) == ("v1", "alice", False)
    assert rollback.rollback_of == unhealthy and rollback.state == State.SUCCEEDED
