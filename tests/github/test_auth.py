"""Talking to GitHub as an App: the JWT the stub verifies, installations and tokens cached and refreshed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.fernet import Fernet
from django.db import connection

from chatops_site import crypto
from integrations.github import auth
from integrations.github.api import GitHubError
from integrations.github.models import Installation
from tests.stubs.github_api import Grant, now

INSTALLATION_CALLS = r"/repos/acme/web-app/installation"
TOKEN_CALLS = r"/app/installations/\d+/access_tokens"


def runs_of(repository: str) -> int:
    """One repository call that needs an installation token; returns the HTTP status."""
    return auth.call(repository, "GET", f"/repos/{repository}/actions/runs/1").status_code


@pytest.fixture
def run(github):
    github.add_run("acme/web-app", "someone else's run", id=1)


def test_app_jwt_is_rs256_backdated_short_and_names_the_app(github):
    token = auth.app_jwt()

    claims = jwt.decode(token, github.public_key, algorithms=["RS256"])
    assert claims["iss"] == "4242"
    assert time.time() - 70 <= claims["iat"] <= time.time() - 50
    assert claims["exp"] - claims["iat"] <= 600


def test_stub_refuses_a_jwt_signed_with_another_key(github, settings):
    other = jwt.encode({"iat": int(time.time()) - 60, "exp": int(time.time()) + 300, "iss": "4242"}, "x" * 32)
    settings.GITHUB_APP_PRIVATE_KEY = ""  # not used: the forged token goes straight to the stub

    with pytest.raises(GitHubError) as refused:
        auth.request("GET", "/repos/acme/web-app/installation", f"Bearer {other}")
    assert refused.value.status == 401
    assert refused.value.permanent


def test_repository_calls_use_an_installation_token_scoped_to_the_repository(github, run, db):
    assert runs_of("acme/web-app") == 200

    [lookup] = github.calls_to(INSTALLATION_CALLS)
    assert lookup.header("authorization").startswith("Bearer ey")  # the App's JWT
    [mint] = github.calls_to(TOKEN_CALLS)
    assert mint.path == "/app/installations/7001/access_tokens"
    assert mint.json() == {"repositories": ["web-app"]}
    [used] = github.calls_to(r"/repos/acme/web-app/actions/runs/1")
    grant = github.tokens[used.header("authorization").removeprefix("Bearer ")]
    assert grant.repositories == {"acme/web-app"}


def test_installation_and_token_are_reused_while_fresh(github, run, db):
    for _ in range(3):
        assert runs_of("acme/web-app") == 200

    assert len(github.calls_to(INSTALLATION_CALLS)) == 1
    assert len(github.calls_to(TOKEN_CALLS)) == 1


def test_the_cached_token_is_stored_encrypted(github, run, db):
    runs_of("acme/web-app")

    stored = Installation.objects.get().token
    issued = github.calls_to(r"/repos/acme/web-app/actions/runs/1")[-1].header("Authorization").split()[-1]
    assert issued and issued not in stored
    assert crypto.decrypt(stored) == issued


def test_a_token_encrypted_with_another_key_is_replaced(github, run, db, settings):
    runs_of("acme/web-app")
    settings.CHATOPS_ENCRYPTION_KEY = Fernet.generate_key().decode()

    assert runs_of("acme/web-app") == 200
    assert len(github.calls_to(TOKEN_CALLS)) == 2


def test_a_token_near_its_end_is_replaced_but_the_installation_is_not_looked_up_again(github, run, db):
    github.token_lifetime = timedelta(minutes=4)  # inside the five-minute margin

    runs_of("acme/web-app")
    runs_of("acme/web-app")

    assert len(github.calls_to(TOKEN_CALLS)) == 2
    assert len(github.calls_to(INSTALLATION_CALLS)) == 1
    assert Installation.objects.get().token_expires_at > now() + timedelta(minutes=3)


def test_a_revoked_token_is_replaced_once(github, run, db):
    runs_of("acme/web-app")
    github.tokens.clear()  # GitHub forgot every token

    assert runs_of("acme/web-app") == 200
    assert len(github.calls_to(TOKEN_CALLS)) == 2


def test_a_reinstalled_app_is_found_again(github, run, db):
    runs_of("acme/web-app")
    github.installations["acme/web-app"] = 9009
    github.installations["acme/api"] = 9009
    github.tokens.clear()

    assert runs_of("acme/web-app") == 200
    assert Installation.objects.get().installation_id == 9009


def test_a_repository_without_the_app_is_a_permanent_error(github, db):
    with pytest.raises(GitHubError) as refused:
        runs_of("acme/elsewhere")
    assert refused.value.permanent
    assert "the GitHub App is not installed on acme/elsewhere" in str(refused.value)


def test_the_private_key_may_come_from_a_file(github, run, db, settings, tmp_path):
    key_file = tmp_path / "app.pem"
    key_file.write_text(github.private_pem)
    settings.GITHUB_APP_PRIVATE_KEY = ""
    settings.GITHUB_APP_PRIVATE_KEY_PATH = str(key_file)

    assert runs_of("acme/web-app") == 200


def test_a_personal_token_serves_a_single_repository_setup(github, run, db, settings):
    settings.GITHUB_APP_ID = ""
    settings.GITHUB_TOKEN = "ghp_personal"
    github.tokens["ghp_personal"] = Grant(0, {"acme/web-app"}, now() + timedelta(days=30))

    assert runs_of("acme/web-app") == 200
    assert github.calls_to(TOKEN_CALLS) == []


def test_without_credentials_the_error_says_what_to_set(github, db, settings):
    settings.GITHUB_APP_ID = ""

    with pytest.raises(GitHubError, match="GitHub is not configured: set GITHUB_APP_ID") as refused:
        runs_of("acme/web-app")
    assert refused.value.permanent


@pytest.mark.django_db(transaction=True)
def test_workers_asking_at_once_all_get_working_tokens(github, run):
    tokens: list[str] = []
    errors: list[Exception] = []

    def worker() -> None:
        try:
            tokens.append(auth.installation_token("acme/web-app"))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert all(github.tokens[token].repositories == {"acme/web-app"} for token in tokens)
    assert Installation.objects.count() == 1
    assert runs_of("acme/web-app") == 200
