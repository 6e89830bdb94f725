"""SSO fixtures: a local OpenID Connect provider the settings point at, and a browser that signs in through it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.contrib.auth.models import Group
from django.test import Client

from chatops_site.catalog.models import Action, Grant
from tests.stubs.oidc import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, OidcProvider


@pytest.fixture
def provider(settings, db, monkeypatch):
    """The provider, configured as the site's: OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET point at it."""
    monkeypatch.setattr("integrations.http.sleep", lambda seconds: None)
    with OidcProvider() as started:
        settings.OIDC_ISSUER = started.issuer
        settings.OIDC_CLIENT_ID = CLIENT_ID
        settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
        yield started


@pytest.fixture
def sign_in(provider):
    """`sign_in(browser, next="/history/")`: "Sign in with SSO", the provider, and back; the callback's answer.

    Ends early, with the answer that ended it, when the site does not send the browser to the provider.
    """

    def run(browser: Client, next: str | None = None):
        started = browser.get("/oidc/authenticate/", {"next": next} if next else {})
        if started.status_code != 302 or not started.url.startswith(provider.issuer):
            return started
        at_provider = requests.get(started.url, allow_redirects=False, timeout=5)
        assert at_provider.status_code == 302, at_provider.text
        back = urlsplit(at_provider.headers["Location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
        return browser.get(back.path, dict(parse_qsl(back.query)))

    return run


@pytest.fixture
def viewers(catalog):
    """A group that may view everything, as an admin would make for the provider's `viewers` group."""
    group = Group.objects.create(name="viewers")
    Grant.objects.create(group=group, action=Action.VIEW)
    return group


def signed_in_as(browser: Client) -> str | None:
    """The username the browser's session is logged in as, if any."""
    answer = browser.get("/profile/")
    return answer.context["user"].get_username() if answer.status_code == 200 else None


def login_page_says(browser: Client, answer) -> str:
    """Follow a failed sign-in to the login page it ends on; its text."""
    assert answer.status_code == 302 and answer.url.startswith("/login/"), answer
    page = browser.get(answer.url)
    assert page.status_code == 200
    return page.text
