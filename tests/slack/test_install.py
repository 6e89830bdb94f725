"""OAuth v2 install: a single-use, expiring state; the code exchange; the bot token encrypted at rest."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from bots.models import CommandRun, SlackInstallation, SlackOAuthState
from bots.platforms.slack.install import BOT_SCOPES, bot_token
from bots.platforms.slack.platform import SlackPlatform
from bots.types import Reply
from tests.slack.conftest import TEAM

INSTALLED = {
    "ok": True,
    "access_token": "xoxb-installed-token",
    "token_type": "bot",
    "scope": ",".join(BOT_SCOPES),
    "bot_user_id": "U0BOT",
    "app_id": "A0APP",
    "team": {"id": "T0NEW", "name": "New Co"},
    "enterprise": None,
    "is_enterprise_install": False,
    "authed_user": {"id": "U0ADMIN"},
}


@pytest.fixture
def started(admin_client, slack_api):
    """An admin went to /slack/install; the state Slack will hand back."""
    response = admin_client.get("/slack/install")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    return query["state"][0]


def test_install_sends_the_admin_to_slack_with_a_fresh_state(admin_client, slack_api):
    response = admin_client.get("/slack/install")

    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert (location.netloc, location.path) == ("slack.com", "/oauth/v2/authorize")
    assert query["client_id"] == ["111.222"] and query["scope"] == [",".join(BOT_SCOPES)]
    assert query["redirect_uri"] == ["http://testserver/slack/oauth/callback"]
    assert SlackOAuthState.objects.get().state == query["state"][0]


def test_install_is_for_admins_only(client, slack_api, db):
    response = client.get("/slack/install")

    assert response.status_code == 302 and "/login" in response["Location"]
    assert not SlackOAuthState.objects.exists()


def test_the_callback_stores_the_installation_with_the_token_encrypted(client, slack_api, started):
    slack_api.installs["good-code"] = INSTALLED

    response = client.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    assert response.status_code == 200 and b"New Co" in response.content
    installation = SlackInstallation.objects.get()
    assert (installation.team_id, installation.bot_user_id, installation.installed_by) == ("T0NEW", "U0BOT", "U0ADMIN")
    assert installation.scopes == ",".join(BOT_SCOPES)
    assert "xoxb-installed-token" not in installation.bot_token_encrypted
    assert bot_token("T0NEW") == "xoxb-installed-token"
    (exchange,) = slack_api.api_calls("oauth.v2.access")
    assert exchange["code"] == "good-code"
    assert exchange["redirect_uri"] == "http://testserver/slack/oauth/callback"
    assert not SlackOAuthState.objects.exists()


def test_a_team_is_served_with_its_own_token(client, slack_api, started, settings):
    slack_api.installs["good-code"] = INSTALLED
    client.get("/slack/oauth/callback", {"code": "good-code", "state": started})
    slack_api.tokens = {"xoxb-installed-token"}
    settings.SLACK_BOT_TOKEN = ""
    run = CommandRun.objects.create(
        platform="slack", workspace="T0NEW", channel="C1", chat_user_id="U1", received_at=timezone.now()
    )

    SlackPlatform().send(run, Reply("hello", public=True))

    (call,) = slack_api.calls_to(r"/api/chat[.]postMessage")
    assert call.header("authorization") == "Bearer xoxb-installed-token"
    assert slack_api.channel_messages("C1")[0]["text"] == "hello"


def test_a_reused_state_is_refused(client, slack_api, started):
    slack_api.installs["good-code"] = INSTALLED
    client.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    response = client.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    assert response.status_code == 400 and b"already used" in response.content
    assert len(slack_api.api_calls("oauth.v2.access")) == 1


def test_an_unknown_state_is_refused(client, slack_api, db):
    response = client.get("/slack/oauth/callback", {"code": "good-code", "state": "made-up"})

    assert response.status_code == 400
    assert slack_api.api_calls("oauth.v2.access") == []


def test_an_expired_state_is_refused_and_forgotten(client, slack_api, started):
    SlackOAuthState.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    slack_api.installs["good-code"] = INSTALLED

    response = client.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    assert response.status_code == 400 and b"expired" in response.content
    assert not SlackOAuthState.objects.exists() and not SlackInstallation.objects.exists()


def test_a_slack_error_is_shown_and_nothing_is_stored(client, slack_api, started):
    response = client.get("/slack/oauth/callback", {"code": "bad-code", "state": started})

    assert response.status_code == 400 and b"invalid_code" in response.content
    assert not SlackInstallation.objects.exists()


def test_an_admin_who_cancels_on_slack_is_told_so(client, slack_api, started):
    response = client.get("/slack/oauth/callback", {"error": "access_denied", "state": started})

    assert response.status_code == 400 and b"access_denied" in response.content


def test_without_client_credentials_install_is_switched_off(admin_client, slack_api, settings):
    settings.SLACK_CLIENT_ID = ""

    assert admin_client.get("/slack/install").status_code == 404


def test_a_reinstall_replaces_the_token(client, admin_client, slack_api):
    for token in ("xoxb-one", "xoxb-two"):
        state = parse_qs(urlsplit(admin_client.get("/slack/install")["Location"]).query)["state"][0]
        slack_api.installs[token] = {**INSTALLED, "access_token": token}
        client.get("/slack/oauth/callback", {"code": token, "state": state})

    assert SlackInstallation.objects.count() == 1 and bot_token("T0NEW") == "xoxb-two"


def test_commands_from_a_team_use_the_single_workspace_token_without_an_install(slack_api, db):
    assert bot_token(TEAM) == "xoxb-test-token"
