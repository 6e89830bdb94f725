"""Slow work answers "thinking..." at once and finishes through the interaction's webhook, then the channel."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import transaction

from bots.grammar import Arg
from bots.models import CommandRun
from bots.platforms import get_platform, post_to_channel
from bots.registry import COMMANDS, Command, Context
from bots.types import Button, Reply
from chatops_site.deploys.models import Deployment
from tests.deploys.helpers import target_of
from tests.discord.conftest import CHANNEL, USERS, slash
from tests.stubs import Answer

OPS = "83000000000000003"  # the deploy channel of web-app in these tests


def send(run: CommandRun, reply: Reply) -> None:
    """What a task does to finish a command's work."""
    get_platform("discord").send(run, reply)


@pytest.fixture
def report(monkeypatch):
    """A test-only slow command: it acknowledges, and a task sends the answer and two more pieces."""

    def handler(ctx: Context) -> Reply:
        run = ctx.run
        transaction.on_commit(lambda: finish(run.pk))
        return Reply("Looking into it", deferred=True, public=ctx.args.get("where") == "channel")

    def finish(run_pk: int) -> None:
        run = CommandRun.objects.get(pk=run_pk)
        send(run, Reply("Report: all good", fields=[("Checked", "3 services")], public=True))
        send(run, Reply("Part 2: counting", key="report:part2", public=True))
        send(run, Reply("Part 2: 42", key="report:part2", public=True, final=True))

    monkeypatch.setitem(
        COMMANDS, "report", Command("report", "A slow report", (Arg("where", "", required=False),), handler)
    )


def test_a_slow_command_answers_thinking_at_once_and_the_task_edits_that_answer(interact, discord_api, report):
    payload = slash("report", where="channel")
    answer = interact(payload)
    assert answer == {"type": 5, "data": {}}  # "thinking...", for the whole channel
    original = discord_api.original(payload["token"])
    assert original.content == "Report: all good"
    assert original.body["embeds"] == [{"fields": [{"name": "Checked", "value": "3 services", "inline": True}]}]
    assert discord_api.calls_to(rf"/webhooks/app-1/{payload['token']}/messages/@original", "PATCH")


def test_a_private_slow_command_thinks_privately(interact, report):
    assert interact(slash("report")) == {"type": 5, "data": {"flags": 64}}


def test_later_pieces_are_follow_ups_and_news_with_the_same_key_edits_its_follow_up(interact, discord_api, report):
    payload = slash("report", where="channel")
    interact(payload)
    follow_ups = discord_api.follow_ups(payload["token"])
    assert len(follow_ups) == 1
    assert [v["content"] for v in follow_ups[0].versions] == ["Part 2: counting", "Part 2: 42"]
    assert len(discord_api.calls_to(rf"/webhooks/app-1/{payload['token']}", "POST")) == 1


def test_status_thinks_privately_then_its_answer_replaces_the_thinking(interact, discord_api):
    payload = slash("status", service="web-app")
    assert interact(payload) == {"type": 5, "data": {"flags": 64}}
    original = discord_api.original(payload["token"])
    assert original.content.startswith("web-app") and "staging" in original.content
    assert discord_api.follow_ups(payload["token"]) == []


def test_a_private_follow_up_stays_private(interact, discord_api, linked):
    payload = slash("help")
    interact(payload)
    run = CommandRun.objects.get()
    send(run, Reply("first"))
    send(run, Reply("only for you"))
    (follow_up,) = discord_api.follow_ups(payload["token"])
    assert follow_up.ephemeral and follow_up.content == "only for you"


# A real deploy's progress


@pytest.fixture
def deploy_channel(catalog):
    target = target_of("web-app", "staging")
    target.channel = f"discord:{OPS}"
    target.save()


def state_of(content: str) -> str:
    return re.search(r"\b(queued|dispatching|running|succeeded)\b", content).group(1)


def test_deploy_progress_edits_the_requesters_answer_in_place(interact, discord_api):
    payload = slash("deploy", service="web-app", environment="staging", version="v3")
    answer = interact(payload)
    assert answer["type"] == 4 and "is queued" in answer["data"]["content"]
    original = discord_api.original(payload["token"])
    assert [state_of(v["content"]) for v in original.versions] == ["dispatching", "running", "succeeded"]
    assert discord_api.follow_ups(payload["token"]) == []  # one message, kept up to date
    assert Deployment.objects.get().state == "succeeded"


def test_deploy_progress_in_the_deploy_channel_is_one_message_kept_up_to_date(interact, discord_api, deploy_channel):
    interact(slash("deploy", service="web-app", environment="staging", version="v3"))
    (message,) = discord_api.in_channel(OPS)
    assert [state_of(v["content"]) for v in message.versions] == ["queued", "dispatching", "running", "succeeded"]
    assert {"name": "Artifact", "value": "registry.local/web-app:v3", "inline": True} in message.body["embeds"][0][
        "fields"
    ]
    assert all(
        c.header("Authorization") == "Bot bot-token" for c in discord_api.calls_to(rf"/channels/{OPS}/messages.*")
    )


def test_an_approval_request_in_the_channel_carries_approve_and_reject_buttons(interact, discord_api, catalog):
    target = target_of("web-app", "prod")
    target.channel = f"discord:{OPS}"
    target.save()
    interact(slash("deploy", service="web-app", environment="prod"))
    number = Deployment.objects.get().pk
    (message,) = discord_api.in_channel(OPS)
    assert message.body["components"] == [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 1, "label": "Approve", "custom_id": f"confirm:approve:{number}"},
                {"type": 2, "style": 4, "label": "Reject", "custom_id": f"reject:{number}"},
            ],
        }
    ]


# When the interaction token is gone


def aged(payload_token: str, minutes: int) -> CommandRun:
    run = CommandRun.objects.get(reply_handle=payload_token)
    run.received_at -= timedelta(minutes=minutes)
    run.save()
    return run


def test_after_fifteen_minutes_news_goes_to_the_channel_with_the_bot_token(interact, discord_api):
    payload = slash("deploy", service="web-app", environment="staging")
    interact(payload)
    calls = len(discord_api.calls)
    run = aged(payload["token"], 16)
    send(run, Reply("Much later", public=True, key="later:1"))
    send(run, Reply("Much later, again", public=True, key="later:1"))
    new_calls = discord_api.calls[calls:]
    assert not any(c.path.startswith("/webhooks/") for c in new_calls)
    (message,) = [m for m in discord_api.in_channel(CHANNEL) if m.content.startswith("Much later")]
    assert [v["content"] for v in message.versions] == ["Much later", "Much later, again"]


def test_after_fifteen_minutes_a_private_answer_goes_to_a_direct_message(interact, discord_api):
    payload = slash("whoami")
    interact(payload)
    send(aged(payload["token"], 20), Reply("Just for you"))
    assert discord_api.in_channel(CHANNEL) == []
    (message,) = discord_api.in_channel(f"dm-{USERS['alice']}")
    assert message.content == "Just for you"


def test_a_token_discord_refuses_before_its_time_falls_back_to_the_channel(interact, discord_api):
    payload = slash("deploy", service="web-app", environment="staging")
    interact(payload)
    discord_api.expired.add(payload["token"])
    send(CommandRun.objects.get(), Reply("Still news", public=True))
    assert [m.content for m in discord_api.in_channel(CHANNEL)] == ["Still news"]


# Channel routes


def test_a_channel_webhook_route_gets_one_message_per_key_without_interactive_buttons(discord_api, catalog):
    channel = f"discord-webhook:{discord_api.webhook_url()}"
    buttons = [Button("Approve", "approve", "7"), Button("Reject", "reject", "7", style="danger")]
    post_to_channel(channel, Reply("Deploy #7 waits", buttons=buttons, public=True, key="deployment:7"))
    post_to_channel(channel, Reply("Deploy #7 approved", public=True, key="deployment:7"))
    (message,) = discord_api.by_webhook()
    assert message.versions[0]["components"] == []
    assert message.versions[0]["content"] == "Deploy #7 waits\nApprove: `/approve 7`  ·  Reject: `/reject 7`"
    assert message.content == "Deploy #7 approved"
    assert "authorization" not in discord_api.calls[0].headers  # the bot token never leaves for a webhook URL


def test_a_channel_message_someone_deleted_is_posted_again(discord_api, catalog):
    post_to_channel(f"discord:{OPS}", Reply("first", key="deployment:9"))
    discord_api.messages.clear()
    post_to_channel(f"discord:{OPS}", Reply("second", key="deployment:9"))
    assert [m.content for m in discord_api.in_channel(OPS)] == ["second"]


def test_a_rate_limited_post_waits_as_discord_asks_and_is_sent_once(discord_api, catalog):
    limited = []

    def once(call):
        if not limited:
            limited.append(call)
            return Answer(429, {"message": "You are being rate limited.", "retry_after": 0.01, "global": False})
        return discord_api._create(call)

    discord_api.route("POST", rf"/channels/({OPS})/messages", once)
    post_to_channel(f"discord:{OPS}", Reply("after a short wait"))
    assert len(limited) == 1
    assert [m.content for m in discord_api.in_channel(OPS)] == ["after a short wait"]
