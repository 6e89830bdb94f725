"""Slash commands typed in Discord go through the same engine as every platform, and answer in time."""

from __future__ import annotations

import pytest

from bots.models import CommandRun
from bots.platforms.discord.commands import option_name
from bots.registry import COMMANDS
from chatops_site.catalog.models import ChatIdentity
from chatops_site.deploys.models import Deployment, Lock, State
from tests.discord.conftest import CHANNEL, GUILD, USERS, slash

EPHEMERAL = 64
# A plausible value for each option, by name, to run every registered command once.
SAMPLES = {
    "service": "web-app",
    "environment": "staging",
    "version": "v7",
    "reason": "release freeze",
    "command": "deploy",
    "deployment": 1,
}


def run() -> CommandRun:
    return CommandRun.objects.get()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_answered_in_time_and_recorded(interact, name):
    options = {option_name(a): SAMPLES.get(option_name(a), "week") for a in COMMANDS[name].args if a.required}
    answer = interact(slash(name, **options))
    assert answer["type"] in (4, 5)  # a message now, or "thinking..." with the rest to follow
    recorded = run()
    assert (recorded.platform, recorded.command, recorded.workspace, recorded.channel) == (
        "discord",
        name,
        GUILD,
        CHANNEL,
    )
    assert recorded.chat_user_id == USERS["alice"] and recorded.user.username == "alice"


def test_a_deploy_is_typed_options_read_by_name_and_recorded_as_typed(interact):
    answer = interact(slash("deploy", service="web-app", environment="staging", version="v2"))
    recorded = run()
    assert recorded.text == "service:web-app environment:staging version:v2"
    assert recorded.args == {"service": "web-app", "env": "staging", "version": "v2"}
    assert recorded.outcome == "ok" and recorded.deployment.version == "v2"
    assert answer["type"] == 4
    assert "flags" not in answer["data"]  # the deploy is news for the whole channel
    assert answer["data"]["content"].startswith(f"⏳ Deploy #{recorded.deployment_id} of web-app v2 to staging")


def test_the_interaction_token_and_id_are_kept_for_follow_ups_and_retries(interact):
    payload = slash("deploy", service="web-app", environment="staging")
    interact(payload)
    recorded = run()
    assert (recorded.reply_handle, recorded.request_id) == (payload["token"], payload["id"])


def test_the_same_interaction_twice_runs_once(interact):
    payload = slash("deploy", service="web-app", environment="staging")
    first, second = interact(payload), interact(payload)
    assert CommandRun.objects.count() == 1 and Deployment.objects.count() == 1
    assert second["data"]["content"] == first["data"]["content"]


def test_a_reason_with_spaces_and_quotes_stays_one_argument(interact):
    interact(slash("lock", user="bob", service="api", environment="prod", reason='don\'t touch: "big" launch'))
    assert Lock.objects.get().reason == 'don\'t touch: "big" launch'


def test_a_deployment_number_option_approves_by_text(interact, alice):
    interact(slash("deploy", service="web-app", environment="prod"))
    deployment = Deployment.objects.get()
    answer = interact(slash("approve", user="bob", deployment=deployment.pk))
    deployment.refresh_from_db()
    assert deployment.state != State.AWAITING_APPROVAL
    assert f"#{deployment.pk}" in answer["data"]["content"] and "approved by bob" in answer["data"]["content"]


@pytest.mark.parametrize(
    ("name", "options"),
    [("help", {}), ("help", {"command": "deploy"}), ("whoami", {})],
)
def test_help_and_whoami_are_only_shown_to_the_person_who_asked(interact, name, options):
    answer = interact(slash(name, **options))
    assert answer["type"] == 4
    assert answer["data"]["flags"] == EPHEMERAL


def test_whoami_names_the_discord_account_by_guild_and_user(interact):
    content = interact(slash("whoami"))["data"]["content"]
    assert content.startswith(f"You are alice (discord {GUILD}/{USERS['alice']}).")


def test_a_refusal_is_only_shown_to_the_person_refused(interact):
    answer = interact(slash("deploy", user="carol", service="web-app", environment="staging"))
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert run().outcome == "refused"
    assert not Deployment.objects.exists()


def test_a_mistyped_option_is_answered_privately_with_a_hint(interact):
    answer = interact(slash("deploy", service="web-ap", environment="staging"))
    assert answer["data"]["flags"] == EPHEMERAL
    assert "did you mean 'web-app'" in answer["data"]["content"]
    assert run().outcome == "invalid"


def test_an_unlinked_discord_user_may_use_the_open_commands_only(interact):
    assert interact(slash("help", user="stranger"))["type"] == 4
    answer = interact(slash("deploy", user="stranger", service="web-app", environment="staging"))
    assert "is not linked to a ChatOps user" in answer["data"]["content"]
    assert answer["data"]["flags"] == EPHEMERAL


def test_in_a_direct_message_the_user_is_identified_without_a_guild(interact, alice):
    ChatIdentity.objects.create(platform="discord", workspace="", chat_user_id=USERS["alice"], user=alice)
    interact(slash("deploy", dm=True, service="web-app", environment="staging"))
    recorded = run()
    assert (recorded.workspace, recorded.channel, recorded.user) == ("", f"dm-{USERS['alice']}", alice)


def test_a_guild_link_does_not_count_in_direct_messages(interact):
    answer = interact(slash("deploy", dm=True, service="web-app", environment="staging"))
    assert "is not linked" in answer["data"]["content"]


def test_an_option_given_after_a_skipped_one_is_read_by_its_name(interact):
    answer = interact(slash("status", environment="prod"))
    assert answer == {"type": 5, "data": {"flags": EPHEMERAL}}  # "thinking...", then the status of prod
    assert (run().outcome, run().args) == ("ok", {"env": "prod"})


def test_an_unknown_command_gets_the_engines_answer(interact):
    answer = interact(slash("depoly"))
    assert "unknown command /depoly - did you mean /deploy?" in answer["data"]["content"]
    assert run().outcome == "invalid"


def test_chat_text_cannot_ping_everyone(interact):
    answer = interact(slash("lock", user="bob", service="api", environment="prod", reason="@everyone look"))
    assert answer["data"]["allowed_mentions"] == {"parse": []}


def test_a_hostile_version_option_is_refused_as_invalid_and_nothing_is_dispatched(interact):
    answer = interact(slash("deploy", service="web-app", environment="staging", version="`id`"))

    assert "is not a valid version" in answer["data"]["content"]
    assert answer["data"]["flags"] == EPHEMERAL
    assert run().outcome == "invalid"
    assert not Deployment.objects.exists()
