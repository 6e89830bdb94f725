"""Approve and Reject buttons: a click is `/approve N` as the person who clicked, with every rule kept."""

from __future__ import annotations

import pytest

from bots.models import CommandRun
from chatops_site.deploys.models import Approval, Deployment, State
from tests.discord.conftest import USERS, click, slash

EPHEMERAL = 64


@pytest.fixture
def waiting(interact):
    """alice asks for a prod deploy through Discord; it waits for approval."""
    answer = interact(slash("deploy", service="web-app", environment="prod", version="v5"))
    deployment = Deployment.objects.get()
    assert deployment.state == State.AWAITING_APPROVAL
    assert [b["custom_id"] for b in answer["data"]["components"][0]["components"]] == [
        f"confirm:approve:{deployment.pk}",  # Discord has no confirmation dialog: Approve asks first
        f"reject:{deployment.pk}",
    ]
    return deployment


def test_approve_asks_first_privately_with_the_card_and_a_button_naming_the_command(interact, waiting):
    card = {"content": "⏸ Deploy #1 of web-app v5 to prod is waiting for approval", "embeds": [{"fields": []}]}
    payload = click(f"confirm:approve:{waiting.pk}", user="bob")
    payload["message"].update(card)
    answer = interact(payload)
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert answer["data"]["content"].startswith(f"Sure? This runs `/approve {waiting.pk}` as you, for:")
    assert card["content"] in answer["data"]["content"]
    assert answer["data"]["embeds"] == card["embeds"]
    (button,) = answer["data"]["components"][0]["components"]
    assert (button["label"], button["custom_id"]) == (f"Yes: /approve {waiting.pk}", f"approve:{waiting.pk}")
    waiting.refresh_from_db()
    assert waiting.state == State.AWAITING_APPROVAL and not Approval.objects.exists()
    assert not CommandRun.objects.filter(command="approve").exists()


def test_an_approver_clicking_approve_updates_the_message_to_say_who_approved(interact, waiting):
    answer = interact(click(f"approve:{waiting.pk}", user="bob"))
    assert answer["type"] == 7
    data = answer["data"]
    assert "approved by bob" in data["content"]
    assert data["components"] == []  # the buttons are gone: it is decided
    (decided,) = [f for f in data["embeds"][0]["fields"] if f["name"] == "Approved by"]
    assert decided["value"].startswith("bob at ")
    approval = Approval.objects.get()
    assert (approval.approver.username, approval.decision) == ("bob", "approve")
    waiting.refresh_from_db()
    assert waiting.state == State.SUCCEEDED  # tasks ran inline: the approved deploy went through


def test_the_click_is_recorded_as_the_clickers_approve_command(interact, waiting):
    interact(click(f"approve:{waiting.pk}", user="bob"))
    run = CommandRun.objects.get(command="approve")
    assert (run.platform, run.chat_user_id, run.user.username, run.text, run.outcome) == (
        "discord",
        USERS["bob"],
        "bob",
        str(waiting.pk),
        "ok",
    )
    assert run.deployment == waiting


def test_rejecting_by_button_updates_the_message(interact, waiting):
    answer = interact(click(f"reject:{waiting.pk}", user="bob"))
    assert answer["type"] == 7
    assert "rejected by bob" in answer["data"]["content"]
    waiting.refresh_from_db()
    assert waiting.state == State.REJECTED


def test_someone_without_the_approve_grant_is_told_privately_and_nothing_changes(interact, waiting):
    answer = interact(click(f"approve:{waiting.pk}", user="carol"))
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert "approve" in answer["data"]["content"]
    waiting.refresh_from_db()
    assert waiting.state == State.AWAITING_APPROVAL and not Approval.objects.exists()
    assert CommandRun.objects.get(command="approve").outcome == "refused"


def test_the_requester_cannot_approve_their_own_deploy_by_button(interact, waiting):
    answer = interact(click(f"approve:{waiting.pk}", user="alice"))
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert answer["data"]["content"] == f"You requested #{waiting.pk} yourself; someone else must approve or reject it."
    assert not Approval.objects.exists()


def test_a_second_click_is_told_who_already_decided(interact, waiting):
    interact(click(f"approve:{waiting.pk}", user="bob"))
    answer = interact(click(f"reject:{waiting.pk}", user="bob"))
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert answer["data"]["content"].startswith(f"#{waiting.pk} was already approved by bob at ")
    assert Approval.objects.count() == 1


def test_an_unlinked_clicker_is_told_to_get_linked(interact, waiting):
    answer = interact(click(f"approve:{waiting.pk}", user="stranger"))
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert "is not linked to a ChatOps user" in answer["data"]["content"]


def test_after_approval_the_approvers_message_follows_the_deploy(interact, discord_api, waiting):
    payload = click(f"approve:{waiting.pk}", user="bob")
    interact(payload)
    # The clicked message is the button interaction's original: progress keeps editing it.
    original = discord_api.original(payload["token"])
    assert original.content.endswith("succeeded")
