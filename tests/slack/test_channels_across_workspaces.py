"""The app installed in several workspaces: each catalog channel is posted to with its own workspace's bot token."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from bots.models import CommandRun, PostedMessage, SlackInstallation
from bots.platforms import post_to_channel
from bots.platforms.slack.install import InstallError
from bots.types import Reply
from chatops_site import crypto
from chatops_site.catalog.models import ChannelRoute, DeployTarget, channel_validator

TOKENS = {"T1": "xoxb-team-one", "T2": "xoxb-team-two"}


@pytest.fixture
def two_workspaces(slack_api, db, settings):
    """The app installed in T1 and T2, each with its own bot token, and no single-workspace token."""
    settings.SLACK_BOT_TOKEN = ""
    for team_id, token in TOKENS.items():
        SlackInstallation.objects.create(team_id=team_id, bot_token_encrypted=crypto.encrypt(token))
    slack_api.tokens = set(TOKENS.values())
    return slack_api


def _tokens_used(api) -> set[str]:
    return {call.header("authorization") for call in api.calls_to(r"/api/chat[.](postMessage|update)")}


def _command_typed(team_id: str, channel: str, minutes_ago: int) -> None:
    CommandRun.objects.create(
        platform="slack",
        workspace=team_id,
        channel=channel,
        chat_user_id="U1",
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_a_channel_naming_its_workspace_is_posted_to_with_that_workspaces_token(two_workspaces):
    post_to_channel("slack:T2/C9", Reply("Deploy #7 started", public=True, key="deployment:7"))
    post_to_channel("slack:T2/C9", Reply("Deploy #7 succeeded", public=True, key="deployment:7"))

    assert _tokens_used(two_workspaces) == {"Bearer xoxb-team-two"}
    # Slack knows the channel by its bare id, and so does the message kept for editing in place.
    (message,) = two_workspaces.channel_messages("C9")
    assert message["text"] == "Deploy #7 succeeded"
    assert PostedMessage.objects.get(key="deployment:7").channel == "C9"


def test_a_bare_channel_is_posted_to_from_the_workspace_it_was_last_seen_in(two_workspaces):
    _command_typed("T2", "C7", minutes_ago=60)
    _command_typed("T1", "C7", minutes_ago=5)

    post_to_channel("slack:C7", Reply("PR #12 opened", public=True))

    assert _tokens_used(two_workspaces) == {"Bearer xoxb-team-one"}
    assert two_workspaces.channel_messages("C7")[0]["text"] == "PR #12 opened"


def test_a_bare_unknown_channel_among_several_workspaces_tells_how_to_name_it(two_workspaces):
    with pytest.raises(InstallError, match=r"write it as slack:<team id>/<channel id>"):
        post_to_channel("slack:C404", Reply("Costs are up", public=True))

    assert two_workspaces.calls == []


def test_a_deployment_reaches_a_target_channel_in_another_workspace(two_workspaces, say):
    DeployTarget.objects.filter(service__name="web-app", environment__name="staging").update(channel="slack:T2/C9")

    say("alice", "/deploy web-app staging v2")

    assert _tokens_used(two_workspaces) == {"Bearer xoxb-team-two"}
    (message,) = two_workspaces.channel_messages("C9")
    assert "web-app" in message["text"] and message["text"].endswith("succeeded")


@pytest.mark.parametrize("channel", ["slack:T2/C9", "slack:C9", "discord:1122", "console:ops"])
def test_the_validator_accepts_channels_with_or_without_a_workspace(channel):
    channel_validator(channel)


@pytest.mark.parametrize("channel", ["slack:T2/", "slack:/C9", "slack:T2/C9/C10", "slack:"])
def test_the_validator_refuses_a_half_written_workspace_channel(channel):
    with pytest.raises(ValidationError) as refused:
        channel_validator(channel)

    assert "slack:<team id>/<channel id>" in refused.value.messages[0]


def test_a_catalog_file_may_name_a_channels_workspace(catalog, tmp_path: Path):
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "services:\n"
        "  - name: web-app\n"
        "    targets:\n"
        "      prod: {provider: simulated, channel: slack:T2/C9}\n"
        "routes:\n"
        "  - {events: [deploy], channel: 'slack:T2/C9'}\n"
    )

    out = io.StringIO()
    call_command("catalog", "apply", str(path), stdout=out)

    assert out.getvalue().splitlines()[-1].startswith("Applied ")
    assert DeployTarget.objects.get(service__name="web-app", environment__name="prod").channel == "slack:T2/C9"
    assert ChannelRoute.objects.get(events=["deploy"]).channel == "slack:T2/C9"


def test_the_admin_accepts_a_channel_naming_its_workspace(admin_client, catalog):
    response = admin_client.post(
        "/admin/catalog/channelroute/add/", {"events": '["deploy"]', "repository": "", "channel": "slack:T2/C9"}
    )

    assert response.status_code == 302
    assert ChannelRoute.objects.get(channel="slack:T2/C9").events == ["deploy"]
