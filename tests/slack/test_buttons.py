"""Approve and Reject buttons: only someone else holding `approve` decides, once; the message says who and when."""

import pytest

from bots.models import CommandRun, PostedMessage
from chatops_site.deploys.models import Approval, Deployment
from tests.slack.conftest import DEPLOY_CHANNEL


@pytest.fixture
def waiting(slack):
    """alice asked for web-app in prod: the request with its buttons is in #deploys."""
    answer = slack.command("/deploy web-app prod v2").json()
    deployment = Deployment.objects.get()
    assert deployment.state == "awaiting_approval"
    assert answer["response_type"] == "in_channel"
    return deployment


def _buttons(message):
    return {e["action_id"]: e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def _fields(message):
    return [f["text"] for b in message["blocks"] for f in b.get("fields", [])]


def _channel_message(slack):
    (message,) = slack.api.channel_messages(DEPLOY_CHANNEL)
    return message


def test_the_approval_request_is_posted_to_the_notify_channel_with_buttons(slack, waiting):
    message = _channel_message(slack)

    assert "is waiting for approval" in message["text"]
    buttons = _buttons(message)
    assert set(buttons) == {f"approve:{waiting.pk}", f"reject:{waiting.pk}"}
    assert buttons[f"reject:{waiting.pk}"]["style"] == "danger"
    assert PostedMessage.objects.get(channel=DEPLOY_CHANNEL).key == f"deployment:{waiting.pk}"


def test_approve_asks_for_confirmation_naming_service_version_and_environment(slack, waiting):
    approve = _buttons(_channel_message(slack))[f"approve:{waiting.pk}"]
    confirm = approve["confirm"]
    assert confirm["title"]["text"] == "Are you sure?"
    assert confirm["text"]["text"] == "Approve web-app v2 to prod?"
    assert (confirm["confirm"]["text"], confirm["deny"]["text"]) == (f"Approve {waiting.pk}", "Not yet")
    assert "confirm" not in _buttons(_channel_message(slack))[f"reject:{waiting.pk}"]


def test_an_approver_click_decides_and_the_message_says_who_and_when(slack, waiting):
    response = slack.click(f"approve:{waiting.pk}", str(waiting.pk), user="bob")

    assert response.status_code == 200 and response.content == b""
    waiting.refresh_from_db()
    assert waiting.state == "succeeded"
    approval = Approval.objects.get()
    assert (approval.approver.username, approval.decision) == ("bob", "approve")
    # The one message in #deploys was edited in place all along, and still names the approver.
    message = _channel_message(slack)
    assert message["text"].endswith("succeeded") and _buttons(message) == {}
    assert any(f.startswith("*Approved by*\nbob at ") for f in _fields(message))
    assert len(slack.api.api_calls("chat.postMessage")) == 1
    assert len(slack.api.api_calls("chat.update")) >= 4
    # The clicked message was replaced at once through the click's response_url.
    run = CommandRun.objects.get(command="approve")
    (first, *_) = slack.api.responses[run.reply_handle.rsplit("/", 1)[1]]
    assert first["replace_original"] and "approved by bob" in first["text"]
    assert (run.user.username, run.outcome, run.platform) == ("bob", "ok", "slack")


def test_a_reject_click_rejects_and_says_so(slack, waiting):
    slack.click(f"reject:{waiting.pk}", str(waiting.pk), user="bob")

    waiting.refresh_from_db()
    assert waiting.state == "rejected"
    message = _channel_message(slack)
    assert "rejected by bob" in message["text"]
    assert any(f.startswith("*Rejected by*\nbob at ") for f in _fields(message))


def _refusal(slack, click_user):
    run = CommandRun.objects.filter(command="approve").latest("id")
    (sent,) = slack.api.responses[run.reply_handle.rsplit("/", 1)[1]]
    assert (sent["response_type"], sent["replace_original"]) == ("ephemeral", False)
    assert run.user.username == click_user and run.outcome == "refused"
    return sent["text"]


def test_someone_without_the_grant_is_refused_privately(slack, waiting):
    updates_before = len(slack.api.api_calls("chat.update"))

    slack.click(f"approve:{waiting.pk}", str(waiting.pk), user="carol")

    assert _refusal(slack, "carol").startswith("carol may not approve")
    waiting.refresh_from_db()
    assert waiting.state == "awaiting_approval" and not Approval.objects.exists()
    assert len(slack.api.api_calls("chat.update")) == updates_before
    assert "waiting for approval" in _channel_message(slack)["text"]


def test_the_requester_cannot_approve_their_own_deploy(slack, waiting):
    slack.click(f"approve:{waiting.pk}", str(waiting.pk), user="alice")

    assert "yourself" in _refusal(slack, "alice")
    waiting.refresh_from_db()
    assert waiting.state == "awaiting_approval"


def test_an_unlinked_clicker_is_refused_privately(slack, waiting):
    slack.click(f"approve:{waiting.pk}", str(waiting.pk), user="U0STRANGER")

    run = CommandRun.objects.get(command="approve")
    (sent,) = slack.api.responses[run.reply_handle.rsplit("/", 1)[1]]
    assert sent["response_type"] == "ephemeral" and "not linked" in sent["text"]
    assert not Approval.objects.exists()


def test_a_double_click_decides_once(slack, waiting):
    slack.click(f"approve:{waiting.pk}", str(waiting.pk), user="bob")
    slack.click(f"approve:{waiting.pk}", str(waiting.pk), user="bob")

    assert Approval.objects.count() == 1
    second = CommandRun.objects.filter(command="approve").latest("id")
    (sent,) = slack.api.responses[second.reply_handle.rsplit("/", 1)[1]]
    assert sent["response_type"] == "ephemeral" and "already approved by bob" in sent["text"]


def test_a_repeated_payload_runs_once(slack, waiting):
    slack.click(f"approve:{waiting.pk}", str(waiting.pk), user="bob", trigger="same.trigger")
    slack.click(f"reject:{waiting.pk}", str(waiting.pk), user="bob", trigger="same.trigger")

    assert CommandRun.objects.filter(request_id="same.trigger").count() == 1
    assert Approval.objects.get().decision == "approve"


def test_approve_and_reject_as_text_work_like_the_buttons(slack, waiting):
    answer = slack.command(f"/approve {waiting.pk}", user="bob").json()

    assert answer["response_type"] == "in_channel" and "approved by bob" in answer["text"]


def test_an_interaction_that_is_not_json_is_a_400(slack):
    response = slack.signed_post("/slack/interactions", "payload=%7Bnot", "application/x-www-form-urlencoded")

    assert response.status_code == 400


def test_other_interactions_are_acknowledged_and_ignored(slack):
    response = slack.interaction({"type": "shortcut", "callback_id": "x", "trigger_id": "t"})

    assert response.status_code == 200 and not CommandRun.objects.exists()
