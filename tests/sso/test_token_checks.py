"""What the provider answers is checked: the id_token in full, the discovery document, the provider's refusals.

Each failure ends on the login page with a sentence, nobody signed in and no user made.
"""

from __future__ import annotations

import logging
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.html import escape

from chatops_site.sso import views
from tests.sso.conftest import login_page_says, signed_in_as
from tests.stubs import Answer
from tests.stubs.oidc import CLIENT_ID, stranger_key

User = get_user_model()


@pytest.fixture
def erin(provider, catalog):
    """erin at the provider, signed in there; no user of that email here yet."""
    person = provider.add("erin")
    provider.sign_in_as("erin")
    return person


def refused(browser: Client, answer, sentence: str = views.UNVERIFIED) -> None:
    assert escape(sentence) in login_page_says(browser, answer)
    assert signed_in_as(browser) is None
    assert not User.objects.filter(email="erin@example.com").exists()


def an_hour_ago() -> int:
    return int(time.time()) - 3600


BROKEN_ID_TOKENS = {
    "another issuer": lambda: {"iss": "https://idp.evil.example"},
    "another audience": lambda: {"aud": "someone-else"},
    "several audiences, ours not the authorized party": lambda: {"aud": ["someone-else", CLIENT_ID]},
    "another authorized party": lambda: {"azp": "someone-else"},
    "expired": lambda: {"iat": an_hour_ago() - 300, "exp": an_hour_ago()},
    "no expiry": lambda: {"exp": None},
    "another nonce": lambda: {"nonce": "not-the-one-we-sent"},
    "no nonce": lambda: {"nonce": None},
    "no subject": lambda: {"sub": None},
}


@pytest.mark.parametrize("changes", BROKEN_ID_TOKENS.values(), ids=BROKEN_ID_TOKENS.keys())
def test_an_id_token_failing_a_check_is_refused(provider, sign_in, erin, changes, caplog):
    provider.id_token_changes = changes()
    browser = Client()

    with caplog.at_level(logging.WARNING, logger="chatops.sso"):
        refused(browser, sign_in(browser))

    assert "the provider's answer failed a check" in caplog.text


def test_an_id_token_for_us_among_others_is_accepted_when_we_are_the_authorized_party(provider, sign_in, erin):
    provider.id_token_changes = {"aud": ["someone-else", CLIENT_ID], "azp": CLIENT_ID}
    browser = Client()

    assert sign_in(browser).url == "/"
    assert signed_in_as(browser) == "erin"


def test_a_clock_a_little_behind_is_allowed(provider, sign_in, erin):
    provider.id_token_changes = {"exp": int(time.time()) - 20}
    browser = Client()

    assert sign_in(browser).url == "/"


def test_an_id_token_signed_with_a_key_the_provider_does_not_publish_is_refused(provider, sign_in, erin):
    provider.signing_key = stranger_key()
    browser = Client()

    refused(browser, sign_in(browser))


def test_a_userinfo_answer_about_someone_else_is_refused(provider, sign_in, erin):
    provider.route("GET", r"/userinfo", lambda call: {"sub": "sub-999", "email": "erin@example.com"})
    browser = Client()

    refused(browser, sign_in(browser))


def test_the_discovery_document_must_name_the_configured_issuer(provider, sign_in, erin, caplog):
    provider.discovery = {"issuer": "https://idp.evil.example"}
    browser = Client()

    with caplog.at_level(logging.ERROR, logger="chatops.sso"):
        refused(browser, sign_in(browser), views.MISCONFIGURED)

    assert "not OIDC_ISSUER" in caplog.text
    assert provider.calls_to("/authorize") == []


def test_a_provider_that_cannot_be_reached_is_said_so(provider, sign_in, erin, caplog):
    provider.route("GET", r"/\.well-known/openid-configuration", lambda call: Answer(503, "down for maintenance"))
    browser = Client()

    with caplog.at_level(logging.WARNING, logger="chatops.sso"):
        refused(browser, sign_in(browser), views.UNREACHABLE)

    assert "oidc answered 503 to the discovery document" in caplog.text


def test_a_provider_that_went_away_mid_sign_in_is_said_so(provider, sign_in, erin):
    provider.route("POST", r"/token", lambda call: Answer(502, "bad gateway"))
    browser = Client()

    refused(browser, sign_in(browser), views.UNREACHABLE)


def test_a_wrong_client_secret_is_refused_by_the_provider(provider, sign_in, erin, settings, caplog):
    settings.OIDC_CLIENT_SECRET = "not-the-secret"
    browser = Client()

    with caplog.at_level(logging.ERROR, logger="chatops.sso"):
        refused(browser, sign_in(browser), views.REFUSED)

    assert "invalid_client" in caplog.text
    assert "not-the-secret" not in caplog.text


@pytest.mark.parametrize(
    ("methods", "basic"), [(["client_secret_basic", "client_secret_post"], False), (["client_secret_basic"], True)]
)
def test_the_secret_goes_in_the_form_or_as_basic_auth_as_the_provider_says(provider, sign_in, erin, methods, basic):
    provider.discovery = {"token_endpoint_auth_methods_supported": methods}

    assert sign_in(Client()).url == "/"

    (request,) = provider.calls_to("/token")
    assert bool(request.header("authorization")) == basic
    assert ("client_secret" in request.form()) != basic


def test_the_discovery_document_is_fetched_once(provider, sign_in, erin):
    sign_in(Client())
    sign_in(Client())

    assert len(provider.calls_to(r"/\.well-known/openid-configuration")) == 1
    assert len(provider.calls_to("/jwks")) == 2  # keys at every sign-in, so a rotated key is seen at once
