"""Shared fixtures: the demo catalog with its personas (alice deployer, bob approver, carol viewer)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from bots.command_engine import handle
from bots.platforms.console import WORKSPACE
from bots.types import Invocation
from chatops_site.demo import seed_catalog
from chatops_site.deploys import engine, tasks
from chatops_site.web.models import ApiToken
from tests.gitrepo import Repo


@pytest.fixture
def catalog(db):
    """Services web-app, api, worker in dev, staging, prod (prod needs approval), simulated, no delay."""
    seed_catalog(delay="0s")


@pytest.fixture
def web_app(settings, tmp_path, catalog):
    """acme/web-app as a local repository that deployments pin in: v1 and v2 tagged, main one commit past v2."""
    settings.CHATOPS_GIT_REPOSITORIES = str(tmp_path)
    settings.GITHUB_TOKEN = settings.GITHUB_APP_ID = ""
    repo = Repo(tmp_path / "acme" / "web-app")
    repo.commit("Initial commit", "alice")
    repo.tag("v1")
    repo.commit("Add the cart (#12)", "bob")
    repo.tag("v2")
    repo.commit("Fix the cart total", "carol")
    return repo


@pytest.fixture
def alice(catalog):
    return get_user_model().objects.get(username="alice")


@pytest.fixture
def bob(catalog):
    return get_user_model().objects.get(username="bob")


@pytest.fixture
def carol(catalog):
    return get_user_model().objects.get(username="carol")


@pytest.fixture
def api_key(db):
    """`api_key(alice)`: the key of a new API token of hers, made where the profile page and `api_token` make it."""

    def make(user, name: str = "tests") -> str:
        return ApiToken.issue(user, name)[1]

    return make


@pytest.fixture
def database_down(db):
    """`back = database_down()`: from then on every SQL statement fails as when PostgreSQL restarts or cuts
    the connection, until `back()` or the end of the test."""
    patched = pytest.MonkeyPatch()

    def cut(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    def down() -> Callable[[], None]:
        patched.setattr(CursorWrapper, "execute", cut)
        patched.setattr(CursorWrapper, "executemany", cut)
        return patched.undo

    yield down
    patched.undo()  # before the test's transaction is rolled back


@pytest.fixture
def say(catalog, django_capture_on_commit_callbacks):
    """Type a command at the console as someone: `say("alice", "/deploy web-app staging")` -> Reply."""

    def say(username: str, line: str):
        with django_capture_on_commit_callbacks(execute=True):
            return handle(Invocation.from_line(line, platform="console", workspace=WORKSPACE, chat_user_id=username))

    return say


@pytest.fixture
def checks_inline(monkeypatch):
    """Deploys through a stub provider run to their end inside `say(...)`: the waits between checks are skipped.

    A deploy that would go on checking forever (a stub whose script never ends it) stops after 100 checks.
    """
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) > 100:
            raise RuntimeError("more than 100 waits between checks: the stub's script never ends this deploy")

    monkeypatch.setattr("chatops_site.deploys.tasks.time.sleep", wait)
    return waits


@pytest.fixture
def next_check(monkeypatch, django_capture_on_commit_callbacks):
    """Checks wait to be run one at a time: `next_check(deployment)` runs the due one and returns it fresh."""
    monkeypatch.setattr(engine, "SHORT_WAIT", -1.0)  # every later check becomes a schedule, not an inline task

    def run(deployment):
        deployment.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            tasks.check(deployment.pk, deployment.next_check_at.isoformat())
        deployment.refresh_from_db()
        return deployment

    return run
