"""Shared fixtures: the demo catalog with its personas (alice deployer, bob approver, carol viewer)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from bots.engine import handle
from bots.platforms.console import WORKSPACE
from bots.types import Invocation
from chatops_site.demo import seed_catalog


@pytest.fixture
def catalog(db):
    """Services web-app, api, worker in dev, staging, prod (prod needs approval), simulated, no delay."""
    seed_catalog(delay="0s")


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
def say(catalog, django_capture_on_commit_callbacks):
    """Type a command at the console as someone: `say("alice", "/deploy web-app staging")` -> Reply."""

    def say(username: str, line: str):
        with django_capture_on_commit_callbacks(execute=True):
            return handle(Invocation.from_line(line, platform="console", workspace=WORKSPACE, chat_user_id=username))

    return say
