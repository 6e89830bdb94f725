"""Events API: the URL check, mentions through the same engine, and retries that run nothing twice."""

from bots.models import CommandRun, PostedMessage
from chatops_site.deploys.models import Deployment
from tests.slack.conftest import CHANNEL


def mention(text, user="U0ALICE"):
    return {"type": "app_mention", "user": user, "text": text, "ts": "1700000000.000100", "channel": CHANNEL}


def test_url_verification_answers_the_challenge(slack):
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = f'{{"token": "legacy", "challenge": "{challenge}", "type": "url_verification"}}'

    response = slack.signed_post("/slack/events", body, "application/json")

    assert response.json() == {"challenge": challenge}


def test_a_mention_runs_the_command_and_its_message_moves_in_place(slack):
    response = slack.event(mention("<@U0BOT> deploy web-app staging"), "Ev001")

    assert response.status_code == 200
    deployment = Deployment.objects.get()
    assert (deployment.requested_by.username, deployment.state) == ("alice", "succeeded")
    run = CommandRun.objects.get()
    assert (run.platform, run.command, run.text, run.request_id) == ("slack", "deploy", "web-app staging", "Ev001")
    (message,) = slack.api.channel_messages(CHANNEL)
    assert message["text"].endswith("succeeded")
    assert len(slack.api.api_calls("chat.postMessage")) == 1
    assert PostedMessage.objects.get().channel == CHANNEL


def test_a_private_answer_to_a_mention_is_ephemeral(slack):
    slack.event(mention("<@U0BOT|chatops> help"), "Ev002")

    (sent,) = slack.api.api_calls("chat.postEphemeral")
    assert (sent["channel"], sent["user"]) == (CHANNEL, "U0ALICE")
    assert sent["text"].startswith("Commands")


def test_a_bare_mention_is_help(slack):
    slack.event(mention("<@U0BOT>"), "Ev003")

    assert CommandRun.objects.get().command == "help"


def test_a_retried_event_runs_once(slack):
    slack.event(mention("<@U0BOT> deploy web-app staging"), "Ev004")
    retry = slack.event(
        mention("<@U0BOT> deploy web-app staging"),
        "Ev004",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )

    assert retry.status_code == 200
    assert Deployment.objects.count() == 1 and CommandRun.objects.count() == 1
    assert len(slack.api.api_calls("chat.postMessage")) == 1


def test_other_events_and_bot_messages_are_acknowledged_and_ignored(slack):
    slack.event({"type": "reaction_added", "user": "U0ALICE"}, "Ev005")
    slack.event({**mention("<@U0BOT> deploy web-app dev"), "bot_id": "B1"}, "Ev006")

    assert not CommandRun.objects.exists() and slack.api.calls == []


def test_an_event_that_is_not_json_is_a_400(slack):
    assert slack.signed_post("/slack/events", "{nope", "application/json").status_code == 400
