"""Discord as the bot sees it: signed interactions posted to the endpoint, and a local Discord API.

Keys are made here with PyNaCl, so every test goes through the real signature check.
"""

from __future__ import annotations

import itertools
import json
import time

import pytest
from django.contrib.auth import get_user_model
from nacl.signing import SigningKey

from chatops_site.catalog.models import ChatIdentity
from tests.stubs.discord_api import DiscordStub

GUILD = "81000000000000001"
CHANNEL = "82000000000000002"
# Discord user ids of the personas, linked to them in GUILD.
USERS = {"alice": "91001", "bob": "91002", "carol": "91003", "stranger": "91999"}
URL = "/discord/interactions"

_ids = itertools.count(70_000_000)


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def discord_api(settings, signing_key):
    """The Discord API stub, and the settings that point the bot at it and at our test key."""
    with DiscordStub() as stub:
        settings.DISCORD_PUBLIC_KEY = signing_key.verify_key.encode().hex()
        settings.DISCORD_APPLICATION_ID = stub.application_id
        settings.DISCORD_BOT_TOKEN = stub.bot_token
        settings.DISCORD_API_URL = stub.url
        yield stub


@pytest.fixture
def linked(catalog):
    """alice, bob and carol linked to their Discord accounts in GUILD; "stranger" stays unlinked."""
    for user in get_user_model().objects.filter(username__in=USERS):
        ChatIdentity.objects.create(platform="discord", workspace=GUILD, chat_user_id=USERS[user.username], user=user)


def signed(body: bytes, key: SigningKey, timestamp: str | None = None) -> dict[str, str]:
    """The headers Discord sends: an Ed25519 signature over timestamp + raw body."""
    timestamp = timestamp or str(int(time.time()))
    signature = key.sign(timestamp.encode() + body).signature.hex()
    return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp}


def interaction(kind: int, user: str = "alice", data: dict | None = None, dm: bool = False, **extra) -> dict:
    """An interaction as Discord posts it: `member.user` in a guild, `user` in a direct message."""
    number = next(_ids)
    who = {"id": USERS.get(user, user), "username": user, "global_name": user.title()}
    payload = {
        "id": str(number),
        "application_id": "app-1",
        "type": kind,
        "token": f"token-{number}",
        "version": 1,
        "channel_id": f"dm-{who['id']}" if dm else CHANNEL,
        **({"user": who} if dm else {"guild_id": GUILD, "member": {"user": who, "roles": []}}),
        **extra,
    }
    if data is not None:
        payload["data"] = data
    return payload


def slash(name: str, user: str = "alice", dm: bool = False, **options) -> dict:
    """`/name option:value ...` as typed in Discord; options with None are left out."""
    given = [
        {"name": k, "type": 4 if k == "deployment" else 3, "value": v} for k, v in options.items() if v is not None
    ]
    return interaction(2, user, {"id": "5001", "name": name, "type": 1, "options": given}, dm=dm)


def click(custom_id: str, user: str = "bob") -> dict:
    return interaction(
        3, user, {"custom_id": custom_id, "component_type": 2}, message={"id": "5555", "channel_id": CHANNEL}
    )


@pytest.fixture
def post(client, signing_key, discord_api, django_capture_on_commit_callbacks):
    """Sign and post an interaction (or raw bytes); the tasks it enqueues run when it commits."""

    def post(payload: dict | bytes, headers: dict | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = signed(body, signing_key) if headers is None else headers
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, data=body, content_type="application/json", headers=headers)

    return post


@pytest.fixture
def interact(post, linked):
    """Post a signed interaction as a linked persona; returns Discord's view of our answer (the JSON)."""

    def interact(payload: dict) -> dict:
        response = post(payload)
        assert response.status_code == 200, response.content
        return response.json()

    return interact
