"""With OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET unset, nothing of SSO shows or answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def off(settings, db):
    settings.OIDC_ISSUER = settings.OIDC_CLIENT_ID = settings.OIDC_CLIENT_SECRET = ""


def test_the_login_pages_offer_no_sso(off):
    assert "Sign in with SSO" not in Client().get("/login/").text
    assert "Sign in with SSO" not in Client().get("/admin/login/").text


def test_the_sso_urls_answer_404(off):
    browser = Client()

    assert browser.get("/oidc/authenticate/").status_code == 404
    assert browser.get("/oidc/callback/", {"code": "x", "state": "y"}).status_code == 404


def test_the_login_pages_offer_sso_when_it_is_on(provider):
    dashboard = Client().get("/login/", {"next": "/history/"}).text
    admin = Client().get("/admin/login/", {"next": "/admin/"}).text

    assert 'href="/oidc/authenticate/?next=%2Fhistory%2F"' in dashboard
    assert 'href="/oidc/authenticate/?next=%2Fadmin%2F"' in admin
    assert provider.calls == []  # showing the button asks the provider nothing


def test_a_session_opened_by_sso_ends_when_sso_is_turned_off(provider, sign_in, catalog, settings):
    provider.add("erin")
    provider.sign_in_as("erin")
    browser = Client()
    sign_in(browser)
    assert browser.get("/").status_code == 200

    settings.OIDC_ISSUER = ""

    assert browser.get("/").status_code == 302


@pytest.mark.parametrize("given", [{"OIDC_ISSUER": "https://idp.example"}, {"OIDC_CLIENT_SECRET": "s"}])
def test_some_but_not_all_three_settings_stop_the_start(given):
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OIDC_")},
        **given,
        "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
    }
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert "OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together" in started.stderr
