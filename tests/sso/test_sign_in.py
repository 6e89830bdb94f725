"""Signing in through the identity provider: a user found or made by verified email, with the provider's groups."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action
from tests.sso.conftest import login_page_says, signed_in_as

User = get_user_model()


def test_a_new_user_lands_on_the_dashboard_with_their_groups_grants(provider, sign_in, viewers, say):
    say("alice", "/deploy web-app staging v2")
    provider.add("erin", groups=["viewers", "no-such-group"], given_name="Erin", family_name="Example")
    provider.sign_in_as("erin")
    browser = Client()
    assert "web-app" not in browser.get("/deployments/", follow=True).text  # the login page

    landed = sign_in(browser)

    assert landed.status_code == 302 and landed.url == "/"
    assert browser.get("/").status_code == 200
    erin = User.objects.get(username="erin")
    assert (erin.email, erin.first_name, erin.last_name) == ("erin@example.com", "Erin", "Example")
    assert not erin.has_usable_password()
    assert [g.name for g in erin.groups.all()] == ["viewers"]
    assert not Group.objects.filter(name="no-such-group").exists()  # groups are never made from a claim
    assert rbac.may(erin, Action.VIEW) and not rbac.may(erin, Action.DEPLOY)
    deployments = browser.get("/deployments/")
    assert deployments.status_code == 200 and "web-app" in deployments.text and "v2" in deployments.text


def test_an_existing_user_is_found_by_verified_email_whatever_the_providers_username(provider, sign_in, carol):
    provider.add("c.smith", email="Carol@Example.com")
    provider.sign_in_as("c.smith")
    browser = Client()
    users = User.objects.count()

    assert sign_in(browser).url == "/"

    assert signed_in_as(browser) == "carol"
    assert User.objects.count() == users


def test_a_username_already_taken_gets_a_number(provider, sign_in, alice):
    provider.add("alice", email="another.alice@example.com")
    provider.sign_in_as("alice")
    browser = Client()

    sign_in(browser)

    assert signed_in_as(browser) == "alice-2"
    assert User.objects.get(username="alice").email == "alice@example.com"


def test_groups_follow_the_provider_at_every_sign_in(provider, sign_in, viewers, catalog):
    deployers = Group.objects.create(name="deployers")
    by_hand = Group.objects.create(name="given-by-hand")
    erin = provider.add("erin", groups=["viewers", "deployers"])
    provider.sign_in_as("erin")
    sign_in(Client())
    user = User.objects.get(username="erin")
    user.groups.add(by_hand)
    assert set(user.groups.all()) == {viewers, deployers, by_hand}

    erin.groups = ["deployers"]
    sign_in(Client())

    assert list(user.groups.all()) == [deployers]
    assert not rbac.may(user, Action.VIEW)

    erin.groups = None  # the provider sends no groups claim at all: no groups
    sign_in(Client())
    assert not user.groups.exists()


def test_the_groups_claim_may_be_named_otherwise(provider, sign_in, viewers, settings):
    settings.OIDC_GROUPS_CLAIM = "roles"
    provider.add("erin", groups=["other"])
    provider.id_token_changes = {"roles": ["viewers"]}
    provider.sign_in_as("erin")

    sign_in(Client())

    assert [g.name for g in User.objects.get(username="erin").groups.all()] == ["viewers"]


def test_sign_in_leads_to_the_page_asked_for_on_this_site_only(provider, sign_in, catalog):
    provider.add("erin")
    provider.sign_in_as("erin")

    assert sign_in(Client(), next="/history/").url == "/history/"
    assert sign_in(Client(), next="https://evil.example/phish").url == "/"
    assert sign_in(Client(), next="//evil.example/").url == "/"


def test_a_staff_user_signs_in_to_the_admin(provider, sign_in, bob):
    bob.is_staff = True
    bob.save()
    provider.add("bob")
    provider.sign_in_as("bob")
    browser = Client()

    landed = sign_in(browser, next="/admin/")

    assert landed.url == "/admin/"
    assert browser.get("/admin/").status_code == 200


def test_a_signed_in_user_logs_out(provider, sign_in, catalog):
    provider.add("erin")
    provider.sign_in_as("erin")
    browser = Client()
    sign_in(browser)

    assert browser.post("/logout/").status_code == 302

    assert signed_in_as(browser) is None


# Refused, on the login page with a sentence


@pytest.mark.parametrize("verified", [False, "false", None])
def test_an_unverified_email_is_refused(provider, sign_in, carol, verified):
    provider.add("c.smith", email="carol@example.com", email_verified=verified)
    provider.sign_in_as("c.smith")
    browser = Client()
    users = User.objects.count()

    page = login_page_says(browser, sign_in(browser))

    assert "has not verified your email address carol@example.com" in page
    assert "Sign in with SSO" in page
    assert signed_in_as(browser) is None and User.objects.count() == users


def test_no_email_is_refused(provider, sign_in, catalog):
    provider.add("erin")
    provider.people["erin"].email = None
    provider.sign_in_as("erin")
    browser = Client()

    assert "did not tell us your email address" in login_page_says(browser, sign_in(browser))
    assert signed_in_as(browser) is None


def test_without_creating_users_an_unknown_email_is_refused(provider, sign_in, catalog, settings):
    settings.OIDC_CREATE_USERS = False
    provider.add("erin")
    provider.sign_in_as("erin")
    browser = Client()

    page = login_page_says(browser, sign_in(browser))

    assert "No account here has the email erin@example.com" in page
    assert not User.objects.filter(username="erin").exists()


def test_a_deactivated_user_is_refused(provider, sign_in, carol):
    carol.is_active = False
    carol.save()
    provider.add("carol")
    provider.sign_in_as("carol")
    browser = Client()

    assert "deactivated" in login_page_says(browser, sign_in(browser))
    assert signed_in_as(browser) is None


def test_two_users_with_the_email_are_refused(provider, sign_in, carol):
    User.objects.create(username="carol2", email="CAROL@example.com")
    provider.add("carol")
    provider.sign_in_as("carol")
    browser = Client()

    assert "More than one account here has the email" in login_page_says(browser, sign_in(browser))
    assert signed_in_as(browser) is None


def test_the_providers_error_is_shown(provider, catalog):
    browser = Client()
    browser.get("/oidc/authenticate/")

    answer = browser.get("/oidc/callback/", {"error": "access_denied", "state": "whatever"})

    assert "The identity provider did not sign you in (access_denied)." in login_page_says(browser, answer)


def test_a_callback_this_browser_did_not_start_is_refused(provider, sign_in, catalog):
    provider.add("erin")
    provider.sign_in_as("erin")
    started = Client().get("/oidc/authenticate/")

    back = requests.get(started.url, allow_redirects=False, timeout=5).headers["Location"]
    other_browser = Client()

    answer = other_browser.get(back.removeprefix("http://testserver"))

    assert "was not started in this browser" in login_page_says(other_browser, answer)
    assert signed_in_as(other_browser) is None


def test_a_callback_is_used_once(provider, catalog):
    provider.add("erin")
    provider.sign_in_as("erin")
    browser = Client()

    back = requests.get(browser.get("/oidc/authenticate/").url, allow_redirects=False, timeout=5)
    callback = back.headers["Location"].removeprefix("http://testserver")
    assert browser.get(callback).url == "/"
    browser.post("/logout/")

    replayed = browser.get(callback)

    assert "was not started in this browser, or was already used" in login_page_says(browser, replayed)
    assert signed_in_as(browser) is None


def test_password_login_still_works_beside_sso(provider, alice):
    alice.set_password("correct horse battery")
    alice.save()
    browser = Client()

    answer = browser.post("/login/?code=x&state=y", {"username": "alice", "password": "correct horse battery"})

    assert answer.status_code == 302 and signed_in_as(browser) == "alice"
    assert provider.calls_to("/token") == []
