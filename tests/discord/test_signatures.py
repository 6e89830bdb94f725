"""Only Discord gets in: every interaction is checked with Ed25519 over timestamp + raw body."""

from __future__ import annotations

import json
import logging
import time

import pytest
from nacl.signing import SigningKey

from bots.models import CommandRun
from tests.discord.conftest import URL, signed, slash

pytestmark = pytest.mark.django_db

PING = json.dumps({"type": 1, "id": "1", "application_id": "app-1", "token": "t", "version": 1}).encode()


def command_body() -> bytes:
    return json.dumps(slash("deploy", service="web-app", environment="staging")).encode()


def test_a_signed_ping_is_answered_with_pong(post):
    response = post(PING)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"type": 1}


def test_a_signed_command_is_run(post, linked):
    assert post(command_body()).status_code == 200
    assert CommandRun.objects.filter(platform="discord", command="deploy").count() == 1


def test_a_signature_made_with_another_key_is_refused(post, catalog):
    response = post(command_body(), headers=signed(command_body(), SigningKey.generate()))
    assert response.status_code == 401
    assert not CommandRun.objects.exists()


def test_a_tampered_body_is_refused(post, signing_key, catalog):
    headers = signed(command_body(), signing_key)
    tampered = command_body().replace(b"staging", b"prod")
    assert post(tampered, headers=headers).status_code == 401
    assert not CommandRun.objects.exists()


def test_a_tampered_timestamp_is_refused(post, signing_key, catalog):
    headers = signed(command_body(), signing_key)
    headers["X-Signature-Timestamp"] = str(int(headers["X-Signature-Timestamp"]) + 1)
    assert post(command_body(), headers=headers).status_code == 401
    assert not CommandRun.objects.exists()


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_a_timestamp_more_than_five_minutes_away_is_refused_even_when_signed(post, signing_key, catalog, age):
    headers = signed(command_body(), signing_key, timestamp=str(int(time.time()) - age))
    assert post(command_body(), headers=headers).status_code == 401
    assert not CommandRun.objects.exists()


@pytest.mark.parametrize("missing", ["X-Signature-Ed25519", "X-Signature-Timestamp"])
def test_a_missing_signature_header_is_refused(post, signing_key, catalog, missing):
    headers = signed(command_body(), signing_key)
    del headers[missing]
    assert post(command_body(), headers=headers).status_code == 401
    assert not CommandRun.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Signature-Ed25519": "not hex", "X-Signature-Timestamp": "1"},
        {"X-Signature-Ed25519": "abcd", "X-Signature-Timestamp": str(int(time.time()))},
        {"X-Signature-Ed25519": "00" * 64, "X-Signature-Timestamp": "soon"},
        {},
    ],
)
def test_garbage_in_the_signature_headers_is_a_401_not_an_error(post, catalog, headers):
    assert post(command_body(), headers=headers).status_code == 401
    assert not CommandRun.objects.exists()


def test_a_refusal_is_logged_in_one_line_without_the_body(post, catalog, caplog):
    body = command_body()
    with caplog.at_level(logging.INFO, logger="chatops"):
        post(body, headers=signed(body, SigningKey.generate()))
    ours = [r.getMessage() for r in caplog.records if r.name == "chatops.discord"]
    assert len(ours) == 1 and "signature does not match" in ours[0]
    assert "web-app" not in caplog.text and "token-" not in caplog.text


def test_a_signed_body_that_is_not_json_is_a_400(post):
    assert post(b"{not json").status_code == 400


def test_only_post_is_accepted(client, discord_api):
    assert client.get(URL).status_code == 405


def test_without_a_public_key_the_endpoint_says_discord_is_not_configured(post, settings):
    settings.DISCORD_PUBLIC_KEY = ""
    response = post(PING)
    assert response.status_code == 404
    assert "DISCORD_PUBLIC_KEY" in response.json()["error"]
