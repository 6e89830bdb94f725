"""Security fixtures: a logged-in browser whose writes are checked for CSRF, as a real one's are."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.fixture
def browser(catalog):
    """`browser("alice")`: a test client logged in as a persona, with CSRF checks on."""

    def open_as(username: str) -> Client:
        made = Client(enforce_csrf_checks=True)
        made.force_login(get_user_model().objects.get(username=username))
        return made

    return open_as


def csrf_token(browser: Client) -> str:
    """The token a page gives its forms (and the cookie its script reads)."""
    assert browser.get("/").status_code == 200
    return browser.cookies["csrftoken"].value
