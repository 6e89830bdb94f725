from __future__ import annotations

import functools

import pytest

from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, Kind
from tests.deploys.helpers import place


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): ...` runs the tasks the block enqueued, as if its transaction had committed."""
    return functools.partial(django_capture_on_commit_callbacks, execute=True)


@pytest.fixture
def deploy(committed):
    """`deploy(alice, "staging", "v1")`: request through the engine, run the enqueued tasks, return it fresh."""

    def deploy(user, env="staging", version="v1", service="web-app", kind=Kind.DEPLOY) -> Deployment:
        with committed():
            deployment = engine.request_deploy(user, *place(service, env), version, kind)
        deployment.refresh_from_db()
        return deployment

    return deploy
