"""OAuth v2 install: a single-use, expiring state bound to the admin's session; the code exchange; the bot
token encrypted at rest."""

import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
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
    """An admin went to /slack/install in `admin_client`; the state Slack will hand back."""
    response = admin_client.get("/slack/install")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    return query["state"][0]


def _logged_in(user) -> Client:
    """Another browser: its own session, logged in as `user`."""
    browser = Client()
    browser.force_login(user)
    return browser


def test_install_sends_the_admin_to_slack_with_a_fresh_state(admin_client, admin_user, slack_api):
    response = admin_client.get("/slack/install")

    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert (location.netloc, location.path) == ("slack.com", "/oauth/v2/authorize")
    assert query["client_id"] == ["111.222"] and query["scope"] == [",".join(BOT_SCOPES)]
    assert query["redirect_uri"] == ["http://testserver/slack/oauth/callback"]
    state = SlackOAuthState.objects.get()
    assert state.state == query["state"][0]
    nonce = admin_client.session["slack_install_nonce"]  # kept in the session; the database has only a hash
    assert state.session_hash == hashlib.sha256(f"{admin_user.pk}:{nonce}".encode()).hexdigest()


def test_install_is_for_admins_only(client, slack_api, db):
    response = client.get("/slack/install")

    assert response.status_code == 302 and "/login" in response["Location"]
    assert not SlackOAuthState.objects.exists()


def test_the_callback_stores_the_installation_with_the_token_encrypted(admin_client, slack_api, started):
    slack_api.installs["good-code"] = INSTALLED

    response = admin_client.get("/slack/oauth/callback", {"code": "good-code", "state": started})

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


def test_a_team_is_served_with_its_own_token(admin_client, slack_api, started, settings):
    slack_api.installs["good-code"] = INSTALLED
    admin_client.get("/slack/oauth/callback", {"code": "good-code", "state": started})
    slack_api.tokens = {"xoxb-installed-token"}
    settings.SLACK_BOT_TOKEN = ""
    run = CommandRun.objects.create(
        platform="slack", workspace="T0NEW", channel="C1", chat_user_id="U1", received_at=timezone.now()
    )

    SlackPlatform().send(run, Reply("hello", public=True))

    (call,) = slack_api.calls_to(r"/api/chat[.]postMessage")
    assert call.header("authorization") == "Bearer xoxb-installed-token"
    assert slack_api.channel_messages("C1")[0]["text"] == "hello"


def test_a_reused_state_is_refused(admin_client, slack_api, started):
    slack_api.installs["good-code"] = INSTALLED
    admin_client.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    response = admin_client.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    assert response.status_code == 400 and b"already used" in response.content
    assert len(slack_api.api_calls("oauth.v2.access")) == 1


def test_an_unknown_state_is_refused(client, slack_api, db):
    response = client.get("/slack/oauth/callback", {"code": "good-code", "state": "made-up"})

    assert response.status_code == 400
    assert slack_api.api_calls("oauth.v2.access") == []


def test_an_expired_state_is_refused_and_forgotten(admin_client, slack_api, started):
    SlackOAuthState.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    slack_api.installs["good-code"] = INSTALLED

    response = admin_client.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    assert response.status_code == 400 and b"expired" in response.content
    assert not SlackOAuthState.objects.exists() and not SlackInstallation.objects.exists()


def test_a_slack_error_is_shown_and_nothing_is_stored(admin_client, slack_api, started):
    response = admin_client.get("/slack/oauth/callback", {"code": "bad-code", "state": started})

    assert response.status_code == 400 and b"invalid_code" in response.content
    assert not SlackInstallation.objects.exists()


# The state is good only in the session that started the install


@pytest.mark.parametrize("browser", ["the same admin elsewhere", "another admin", "nobody logged in"])
def test_a_callback_in_another_session_is_refused_and_the_state_stays_for_the_admin(
    admin_client, admin_user, slack_api, started, browser
):
    slack_api.installs["good-code"] = INSTALLED
    if browser == "the same admin elsewhere":
        elsewhere = _logged_in(admin_user)
    elif browser == "another admin":
        elsewhere = _logged_in(get_user_model().objects.create_superuser("mallory", "m@example.com", "pw"))
    else:
        elsewhere = Client()

    response = elsewhere.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    assert response.status_code == 400 and b"another browser session" in response.content
    assert slack_api.api_calls("oauth.v2.access") == []
    assert not SlackInstallation.objects.exists()
    assert SlackOAuthState.objects.filter(state=started).exists()
    # The admin who started it can still finish, where they started it.
    assert admin_client.get("/slack/oauth/callback", {"code": "good-code", "state": started}).status_code == 200
    assert SlackInstallation.objects.get().team_id == "T0NEW"


def test_a_session_that_did_not_start_this_install_cannot_use_it_even_after_starting_its_own(
    admin_client, admin_user, slack_api, started
):
    elsewhere = _logged_in(admin_user)
    elsewhere.get("/slack/install")  # a nonce of its own, which is not the one `started` was bound to
    slack_api.installs["good-code"] = INSTALLED

    response = elsewhere.get("/slack/oauth/callback", {"code": "good-code", "state": started})

    assert response.status_code == 400
    assert slack_api.api_calls("oauth.v2.access") == []


def test_an_admin_can_have_two_installs_under_way_in_one_session(admin_client, slack_api, started):
    second = parse_qs(urlsplit(admin_client.get("/slack/install")["Location"]).query)["state"][0]
    slack_api.installs["code-1"] = INSTALLED
    slack_api.installs["code-2"] = {**INSTALLED, "team": {"id": "T0TWO", "name": "Two"}}

    first_answer = admin_client.get("/slack/oauth/callback", {"code": "code-1", "state": started})
    second_answer = admin_client.get("/slack/oauth/callback", {"code": "code-2", "state": second})

    assert (first_answer.status_code, second_answer.status_code) == (200, 200)
    assert set(SlackInstallation.objects.values_list("team_id", flat=True)) == {"T0NEW", "T0TWO"}


def test_an_admin_who_cancels_on_slack_is_told_so(client, slack_api, started):
    response = client.get("/slack/oauth/callback", {"error": "access_denied", "state": started})

    assert response.status_code == 400 and b"access_denied" in response.content


def test_without_client_credentials_install_is_switched_off(admin_client, slack_api, settings):
    settings.SLACK_CLIENT_ID = ""

    assert admin_client.get("/slack/install").status_code == 404


def test_a_reinstall_replaces_the_token(admin_client, slack_api):
    for token in ("xoxb-one", "xoxb-two"):
        state = parse_qs(urlsplit(admin_client.get("/slack/install")["Location"]).query)["state"][0]
        slack_api.installs[token] = {**INSTALLED, "access_token": token}
        admin_client.get("/slack/oauth/callback", {"code": token, "state": state})

    assert SlackInstallation.objects.count() == 1 and bot_token("T0NEW") == "xoxb-two"


def test_commands_from_a_team_use_the_single_workspace_token_without_an_install(slack_api, db):
    assert bot_token(TEAM) == "xoxb-test-token"
