"""The catalog page, and the profile page where people make and revoke their API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone

from chatops_site.catalog.models import Action, Grant
from chatops_site.web.models import ApiToken


def test_services_link_to_their_repository_and_what_runs_where(client_as, say):
    say("alice", "/deploy worker dev v9")
    page = client_as("carol").get("/services/").text

    assert 'href="https://github.com/acme/web-app"' in page
    assert ">v9</a>" in page
    assert "/admin/" not in page


@override_settings(GITHUB_API_URL="https://git.example.com/api/v3")
def test_enterprise_repositories_link_to_the_enterprise_host(client_as):
    assert 'href="https://git.example.com/acme/api"' in client_as("carol").get("/services/").text


def test_staff_get_links_to_edit_services_in_the_admin(client_as, catalog):
    root = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    Grant.objects.create(user=root, action=Action.VIEW)  # the dashboard shows what grants allow, to admins too
    page = client_as("root").get("/services/").text
    assert "/admin/catalog/service/" in page and "Edit in the admin" in page


def new_key(page: str) -> str:
    """The key a creation answer shows."""
    found = re.search(r'<code id="new-key">([^<]+)</code>', page)
    assert found, "the answer shows no new key"
    return found.group(1)


def test_a_user_creates_a_named_api_token_and_sees_its_key_once(client_as, alice):
    client = client_as("alice")
    response = client.post("/profile/tokens/", {"name": "ci"})

    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    key = new_key(response.text)
    token = ApiToken.objects.get(user=alice)
    assert token.name == "ci"
    later = client.get("/profile/").text
    assert key not in later
    assert "ci" in later and f"{key[:8]}…" in later


def test_the_key_shown_opens_the_api_as_its_owner(client_as, alice):
    key = new_key(client_as("alice").post("/profile/tokens/", {"name": "ci"}).text)

    response = Client().get("/api/v1/services/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert ApiToken.objects.get().last_used is not None


def test_a_user_holds_several_tokens_and_each_keeps_working(client_as, alice):
    client = client_as("alice")
    keys = [new_key(client.post("/profile/tokens/", {"name": name}).text) for name in ("ci", "laptop")]

    page = client.get("/profile/").text
    assert "ci" in page and "laptop" in page
    for key in keys:
        assert Client().get("/api/v1/services/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_a_token_needs_a_name(client_as, alice):
    response = client_as("alice").post("/profile/tokens/", {"name": "  "})

    assert response.status_code == 400
    assert "Name the token after what will use it" in response.text
    assert not ApiToken.objects.exists()


def test_a_user_revokes_one_token_and_the_others_keep_working(client_as, alice):
    client = client_as("alice")
    gone = new_key(client.post("/profile/tokens/", {"name": "old laptop"}).text)
    kept = new_key(client.post("/profile/tokens/", {"name": "ci"}).text)

    digest = ApiToken.objects.get(name="old laptop").pk
    page = client.post("/profile/tokens/revoke/", {"token": digest}, follow=True).text

    assert "The API token old laptop is revoked" in page
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["ci"]
    refused = Client().get("/api/v1/services/", HTTP_AUTHORIZATION=f"Token {gone}")
    assert refused.status_code == 401 and refused.json() == {"detail": "Invalid token."}
    assert Client().get("/api/v1/services/", HTTP_AUTHORIZATION=f"Token {kept}").status_code == 200


def test_nobody_revokes_someone_elses_token(client_as, alice, api_key):
    api_key(alice, "ci")

    page = client_as("bob").post("/profile/tokens/revoke/", {"token": ApiToken.objects.get().pk}, follow=True).text

    assert "You have no such API token." in page
    assert ApiToken.objects.filter(user=alice).exists()


def test_the_profile_marks_expired_tokens(client_as, alice, api_key):
    api_key(alice, "old")
    ApiToken.objects.update(expiry=timezone.now() - timedelta(days=1))

    assert '<span class="over">expired</span>' in client_as("alice").get("/profile/").text


def test_tokens_are_only_made_and_revoked_by_post(client_as, alice):
    client = client_as("alice")
    assert client.get("/profile/tokens/").status_code == 405
    assert client.get("/profile/tokens/revoke/").status_code == 405
    assert not ApiToken.objects.exists()


def test_token_forms_need_the_csrf_token(catalog, alice, api_key):
    api_key(alice, "ci")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    assert client.post("/profile/tokens/", {"name": "sneaky"}).status_code == 403
    assert client.post("/profile/tokens/revoke/", {"token": ApiToken.objects.get().pk}).status_code == 403
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["ci"]


def test_the_profile_lists_what_the_user_may_do(client_as):
    page = client_as("bob").get("/profile/").text
    assert "<strong>approve</strong> on every service in prod" in page
