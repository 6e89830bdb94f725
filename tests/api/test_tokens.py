"""API tokens: hashed at rest, expiring, revocable, several per user; made by `api_token`; no key in the admin."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from chatops_site.web.models import ApiToken


def sending(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_database_keeps_a_digest_of_the_key_never_the_key(alice, api_key):
    key = api_key(alice)

    (row,) = ApiToken.objects.values()
    assert not any(key in str(value) for value in row.values())
    assert row["digest"] == hashlib.sha512(key.encode()).hexdigest()
    assert len(key) == 64  # 256 random bits, hex


def test_a_stolen_row_is_no_token(alice, api_key):
    api_key(alice)
    row = ApiToken.objects.get()

    for sent in (row.digest, row.token_key):
        response = sending(sent).get("/api/v1/services/")
        assert response.status_code == 401 and response.json() == {"detail": "Invalid token."}


def test_a_token_expires_after_90_days_by_default(alice, api_key):
    api_key(alice)
    left = ApiToken.objects.get().expiry - timezone.now()
    assert timedelta(days=90) - timedelta(minutes=1) < left <= timedelta(days=90)


def test_an_expired_token_is_refused_with_a_detail_that_says_so(alice, api_key):
    key = api_key(alice, "ci")
    ApiToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    expiry = ApiToken.objects.get().expiry_text

    for _ in range(2):  # still the same answer: the token is not deleted behind its owner's back
        response = sending(key).get("/api/v1/services/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {
            "detail": f"This API token (ci) expired on {expiry}: make a new one on your profile page."
        }
    assert ApiToken.objects.exists()


def test_a_revoked_token_is_refused(alice, api_key):
    key = api_key(alice)
    assert sending(key).get("/api/v1/services/").status_code == 200

    ApiToken.objects.get().delete()

    response = sending(key).get("/api/v1/services/")
    assert response.status_code == 401 and response.json() == {"detail": "Invalid token."}


def test_several_tokens_per_user_each_act_as_that_user(alice, bob, api_key):
    keys = {"ci": api_key(alice, "ci"), "laptop": api_key(alice, "laptop"), "bob's": api_key(bob)}

    assert ApiToken.objects.filter(user=alice).count() == 2
    asked = {"service": "web-app", "environment": "dev", "action": "deploy"}
    requesters = {
        name: sending(key).post("/api/v1/deployments/", asked).json()["requested_by"] for name, key in keys.items()
    }
    assert requesters == {"ci": "alice", "laptop": "alice", "bob's": "bob"}


def test_the_last_use_is_recorded_at_most_once_a_minute(alice, api_key):
    key = api_key(alice)
    assert ApiToken.objects.get().last_used is None

    sending(key).get("/api/v1/environments/")
    first = ApiToken.objects.get().last_used
    assert first is not None and timezone.now() - first < timedelta(seconds=10)

    sending(key).get("/api/v1/environments/")
    assert ApiToken.objects.get().last_used == first

    ApiToken.objects.update(last_used=first - timedelta(minutes=2))
    sending(key).get("/api/v1/environments/")
    assert ApiToken.objects.get().last_used > first


def test_an_inactive_users_token_is_refused(alice, api_key):
    key = api_key(alice)
    alice.is_active = False
    alice.save()

    response = sending(key).get("/api/v1/services/")
    assert response.status_code == 401 and response.json() == {"detail": "User inactive or deleted."}


# `manage.py api_token`


def test_api_token_prints_the_key_as_the_last_word_of_its_last_line(alice):
    out = StringIO()
    call_command("api_token", "alice", "--name", "release script", "--days", "7", stdout=out)

    key = out.getvalue().splitlines()[-1].split()[-1]
    token = ApiToken.objects.get()
    assert token.name == "release script" and token.user == alice
    assert timedelta(days=7) - timedelta(minutes=1) < token.expiry - timezone.now() <= timedelta(days=7)
    assert out.getvalue().startswith(f"API token 'release script' for alice, expires {token.expiry_text}.")
    assert sending(key).get("/api/v1/services/").status_code == 200


def test_api_token_defaults_to_the_configured_expiry(alice):
    call_command("api_token", "alice", stdout=StringIO())
    assert ApiToken.objects.get().expiry - timezone.now() > timedelta(days=89)


def test_api_token_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="there is no user 'nobody'"):
        call_command("api_token", "nobody", stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_api_token_refuses_a_token_that_never_works(alice):
    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("api_token", "alice", "--days", "0", stdout=StringIO())


# The admin: who holds which token; no key


def test_the_admin_lists_tokens_without_their_keys(admin_client, alice, api_key):
    key = api_key(alice, "ci")
    token = ApiToken.objects.get()

    page = admin_client.get(reverse("admin:web_apitoken_changelist")).content.decode()
    assert "ci" in page and "alice" in page and token.starts_with in page
    assert key not in page and key[: len(token.starts_with) + 1] not in page

    detail = admin_client.get(reverse("admin:web_apitoken_change", args=[token.pk])).content.decode()
    assert key[: len(token.starts_with) + 1] not in detail and 'name="name"' not in detail


def test_the_admin_makes_no_token_and_revokes_by_deleting(admin_client, alice, api_key):
    api_key(alice)
    token = ApiToken.objects.get()

    assert admin_client.get(reverse("admin:web_apitoken_add")).status_code == 403
    assert admin_client.post(reverse("admin:web_apitoken_delete", args=[token.pk]), {"post": "yes"}).status_code == 302
    assert not ApiToken.objects.exists()


def test_drf_plain_text_tokens_are_gone(admin_client, db):
    assert not apps.is_installed("rest_framework.authtoken")
    assert "authtoken" not in admin_client.get(reverse("admin:index")).content.decode()
