"""Dashboard fixtures: a logged-in browser client per persona."""

from __future__ import annotations

import functools

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.fixture
def client_as(catalog):
    """`client_as("bob")`: a test client logged in as that persona (or any user made on the fly)."""

    def login(username: str) -> Client:
        user, _ = get_user_model().objects.get_or_create(username=username)
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def command(client_as, django_capture_on_commit_callbacks):
    """`command("alice", "/deploy web-app staging")`: type it in the command box; tasks run on commit."""

    def run(username: str, line: str, fragment: bool = True):
        headers = {"X-Requested-With": "fetch"} if fragment else {}
        with django_capture_on_commit_callbacks(execute=True):
            return client_as(username).post("/command/", {"line": line}, headers=headers)

    return run


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return functools.partial(django_capture_on_commit_callbacks, execute=True)
