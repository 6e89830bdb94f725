"""Every Slack endpoint takes only requests signed with the signing secret, within five minutes."""

import logging
import time
from urllib.parse import urlencode

import pytest

from bots.models import CommandRun
from tests.slack.conftest import CHANNEL, TEAM, signed_headers

BODY = urlencode(
    {"team_id": TEAM, "channel_id": CHANNEL, "user_id": "U0ALICE", "command": "/whoami", "text": "web-app staging"}
)
ENDPOINTS = ["/slack/commands", "/slack/interactions", "/slack/events"]


def post(client, body, headers, path="/slack/commands"):
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded", headers=headers)


def test_a_signed_command_is_answered(client, slack_api, slack_users):
    response = post(client, BODY, signed_headers(BODY))

    assert response.status_code == 200
    assert CommandRun.objects.get().command == "whoami"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda: signed_headers(BODY, secret="another-secret"), id="wrong secret"),
        pytest.param(lambda: signed_headers(BODY, timestamp=int(time.time()) - 301), id="stale timestamp"),
        pytest.param(lambda: signed_headers(BODY, timestamp=int(time.time()) + 301), id="future timestamp"),
        pytest.param(lambda: signed_headers(BODY.replace("whoami", "help")), id="tampered body"),
        pytest.param(lambda: {}, id="missing headers"),
        pytest.param(lambda: {"X-Slack-Request-Timestamp": str(int(time.time()))}, id="missing signature"),
        pytest.param(
            lambda: {**signed_headers(BODY), "X-Slack-Request-Timestamp": "soon"}, id="timestamp not a number"
        ),
        pytest.param(lambda: {**signed_headers(BODY), "X-Slack-Signature": "v0=é"}, id="signature not ascii"),
    ],
)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_bad_signature_is_401_leaves_no_run_and_logs_one_line_without_the_body(
    client, slack_api, slack_users, caplog, headers, path
):
    with caplog.at_level(logging.INFO, logger="chatops"):
        response = post(client, BODY, headers(), path)

    assert response.status_code == 401
    assert not CommandRun.objects.exists()
    refused = [r for r in caplog.records if r.name == "chatops.slack"]
    assert len(refused) == 1 and "signature" in refused[0].getMessage()
    assert "web-app" not in refused[0].getMessage() and "U0ALICE" not in refused[0].getMessage()


def test_a_re_encoded_body_with_the_same_fields_is_refused(client, slack_api, slack_users):
    """Slack signs bytes: `+` and `%20` read the same but are not the body that was signed."""
    re_encoded = BODY.replace("+", "%20")
    assert re_encoded != BODY

    response = post(client, re_encoded, signed_headers(BODY))

    assert response.status_code == 401
    assert not CommandRun.objects.exists()


def test_without_a_signing_secret_slack_is_switched_off(client, slack_api, slack_users, settings):
    settings.SLACK_SIGNING_SECRET = ""

    response = post(client, BODY, signed_headers(BODY))

    assert response.status_code == 404
    assert b"SLACK_SIGNING_SECRET" in response.content


def test_only_post_is_accepted(client, slack_api):
    assert client.get("/slack/commands").status_code == 405


def test_slacks_certificate_check_is_acknowledged(client, slack_api, db):
    response = post(client, "ssl_check=1&token=legacy", {})

    assert response.status_code == 200 and not CommandRun.objects.exists()
