"""The catalog page, and the profile page where people make and revoke their API token."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.authtoken.models import Token

from chatops_site.catalog.models import Action, Grant


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


def test_a_user_creates_an_api_token_and_sees_it_once(client_as, alice):
    client = client_as("alice")
    shown = client.post("/profile/token/", follow=True).text

    token = Token.objects.get(user=alice)
    assert token.key in shown
    assert token.key not in client.get("/profile/").text
    assert token.key[:4] in client.get("/profile/").text


def test_a_new_token_replaces_the_old_one(client_as, alice):
    client = client_as("alice")
    client.post("/profile/token/")
    old = Token.objects.get(user=alice).key
    client.post("/profile/token/")
    assert Token.objects.get(user=alice).key != old


def test_a_user_revokes_their_token(client_as, alice):
    client = client_as("alice")
    client.post("/profile/token/")
    page = client.post("/profile/token/revoke/", follow=True).text
    assert not Token.objects.filter(user=alice).exists()
    assert "revoked" in page


def test_tokens_are_only_made_by_post(client_as, alice):
    assert client_as("alice").get("/profile/token/").status_code == 405
    assert not Token.objects.exists()


def test_the_profile_lists_what_the_user_may_do(client_as):
    page = client_as("bob").get("/profile/").text
    assert "<strong>approve</strong> on every service in prod" in page
