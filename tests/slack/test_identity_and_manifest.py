"""Linking Slack users by email (opt-in), and the app manifest that makes creating the Slack app one paste."""

import json
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from bots.models import CommandRun, SlackInstallation
from bots.registry import COMMANDS
from chatops_site import crypto
from chatops_site.catalog.models import ChatIdentity
from tests.slack.conftest import TEAM

OTHER_TEAM = "T0OTHER"


@pytest.fixture
def newcomer(slack):
    """A Slack member whose confirmed email is alice's."""
    slack.api.users["U0NEW"] = {
        "id": "U0NEW",
        "team_id": TEAM,
        "profile": {"email": "Alice@Example.com"},
        "is_email_confirmed": True,
    }
    return "U0NEW"


def test_with_the_setting_on_a_matching_email_links_the_user(slack, newcomer, settings):
    settings.SLACK_LINK_BY_EMAIL = True

    answer = slack.command("/deploy web-app staging", user=newcomer).json()

    assert answer["response_type"] == "in_channel"
    identity = ChatIdentity.objects.get(platform="slack", chat_user_id=newcomer)
    assert (identity.workspace, identity.user.username) == (TEAM, "alice")
    assert CommandRun.objects.get().user.username == "alice"


def test_slack_is_asked_once_which_workspace_the_single_token_belongs_to(slack, newcomer, settings):
    settings.SLACK_LINK_BY_EMAIL = True
    slack.api.users["U0NEW2"] = {**slack.api.users[newcomer], "id": "U0NEW2"}

    slack.command("/whoami", user=newcomer)
    slack.command("/whoami", user="U0NEW2")

    assert ChatIdentity.objects.filter(chat_user_id__in=[newcomer, "U0NEW2"]).count() == 2
    assert len(slack.api.api_calls("auth.test")) == 1


def test_a_workspace_the_single_token_is_not_from_links_nobody(slack, newcomer, settings):
    """SLACK_BOT_TOKEN was made in T0001: a signed command from another team is not vouched for by it."""
    settings.SLACK_LINK_BY_EMAIL = True

    answer = slack.command("/deploy web-app staging", user=newcomer, team=OTHER_TEAM).json()

    assert "not linked" in answer["text"]
    assert not ChatIdentity.objects.filter(chat_user_id=newcomer).exists()
    assert slack.api.api_calls("users.info") == []


def test_without_the_single_token_an_uninstalled_workspace_is_not_even_asked_about(slack, newcomer, settings):
    settings.SLACK_LINK_BY_EMAIL = True
    settings.SLACK_BOT_TOKEN = ""

    answer = slack.command("/whoami", user=newcomer).json()

    assert "not linked" in answer["text"]
    assert not ChatIdentity.objects.filter(chat_user_id=newcomer).exists()
    assert slack.api.calls_to(r"/api/") == []


def test_a_workspace_installed_here_is_asked_with_its_own_token(slack, newcomer, settings):
    settings.SLACK_LINK_BY_EMAIL = True
    SlackInstallation.objects.create(team_id=OTHER_TEAM, bot_token_encrypted=crypto.encrypt("xoxb-other"))
    slack.api.tokens.add("xoxb-other")

    slack.command("/whoami", user=newcomer, team=OTHER_TEAM)

    identity = ChatIdentity.objects.get(chat_user_id=newcomer)
    assert (identity.workspace, identity.user.username) == (OTHER_TEAM, "alice")
    (lookup,) = slack.api.calls_to(r"/api/users[.]info")
    assert lookup.header("authorization") == "Bearer xoxb-other"
    assert slack.api.api_calls("auth.test") == []


def test_it_is_off_by_default(slack, newcomer):
    answer = slack.command("/deploy web-app staging", user=newcomer).json()

    assert "not linked" in answer["text"]
    assert slack.api.api_calls("users.info") == []


def test_an_email_nobody_has_links_nobody_and_is_not_asked_again_at_once(slack, settings):
    settings.SLACK_LINK_BY_EMAIL = True
    slack.api.users["U0X"] = {"id": "U0X", "profile": {"email": "stranger@example.org"}}

    slack.command("/whoami", user="U0X")
    slack.command("/whoami", user="U0X")

    assert not ChatIdentity.objects.filter(chat_user_id="U0X").exists()
    assert len(slack.api.api_calls("users.info")) == 1


def test_an_unconfirmed_email_links_nobody(slack, newcomer, settings):
    settings.SLACK_LINK_BY_EMAIL = True
    slack.api.users[newcomer]["is_email_confirmed"] = False

    answer = slack.command("/deploy web-app staging", user=newcomer).json()

    assert "not linked" in answer["text"]
    assert not ChatIdentity.objects.filter(chat_user_id=newcomer).exists()


def test_an_answer_that_does_not_say_the_email_is_confirmed_links_nobody(slack, newcomer, settings):
    settings.SLACK_LINK_BY_EMAIL = True
    del slack.api.users[newcomer]["is_email_confirmed"]

    answer = slack.command("/deploy web-app staging", user=newcomer).json()

    assert "not linked" in answer["text"]
    assert not ChatIdentity.objects.filter(chat_user_id=newcomer).exists()
    assert len(slack.api.api_calls("users.info")) == 1


def test_the_manifest_lists_every_command_with_its_usage_and_the_urls():
    out = StringIO()
    call_command("slack_manifest", "--url", "https://ops.example.com/", stdout=out)

    manifest = yaml.safe_load(out.getvalue())
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {f"/{name}" for name in COMMANDS} | {"/ops"}
    assert commands["/deploy"]["usage_hint"] == "<service> <env> [<version>] [--override <reason...>]"
    assert "usage_hint" not in commands["/whoami"]
    assert {c["url"] for c in commands.values()} == {"https://ops.example.com/slack/commands"}
    settings = manifest["settings"]
    assert settings["interactivity"]["request_url"] == "https://ops.example.com/slack/interactions"
    assert settings["event_subscriptions"] == {
        "request_url": "https://ops.example.com/slack/events",
        "bot_events": ["app_mention"],
    }
    assert manifest["oauth_config"]["redirect_urls"] == ["https://ops.example.com/slack/oauth/callback"]
    assert {"commands", "chat:write", "app_mentions:read"} <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_the_manifest_as_json():
    out = StringIO()
    call_command("slack_manifest", "--url", "https://ops.example.com", "--format", "json", stdout=out)

    assert json.loads(out.getvalue())["display_information"]["name"] == "ChatOps"


def test_the_manifest_needs_an_https_url():
    with pytest.raises(CommandError, match="https"):
        call_command("slack_manifest", "--url", "http://ops.example.com", stdout=StringIO())
