"""The simulated provider (integrations/simulated): what it reports when it finishes."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from integrations.providers import Order
from integrations.simulated import SimulatedProvider


def finished(version: str, commit_sha: str = "") -> Order:
    started = timezone.now() - timedelta(seconds=1)
    return Order(
        deployment_id=7,
        provider="simulated",
        kind="deploy",
        version=version,
        commit_sha=commit_sha,
        service="web-app",
        environment="staging",
        target="web-app/staging",
        repository="acme/web-app",
        settings={"delay": "0s"},
        started_at=started,
    )


def test_a_pinned_deploy_ships_an_image_of_its_commit_and_says_which():
    status = SimulatedProvider().check(finished("main", "3f2a1c9" + "0" * 33))

    assert (status.state, status.detail, status.artifact) == (
        "succeeded",
        "simulated deploy of 3f2a1c9 finished",
        "registry.local/web-app:3f2a1c9",
    )


def test_an_unpinned_deploy_ships_the_version():
    status = SimulatedProvider().check(finished("v1.2.3"))

    assert (status.detail, status.artifact) == ("simulated deploy finished", "registry.local/web-app:v1.2.3")
    assert SimulatedProvider().check(finished("fail-1", "3f2a1c9" + "0" * 33)).state == "failed"
