"""Pinning in the deploy engine, with commits read from a local git repository: nothing is approved or
started before the commit is known, a lost lookup is taken up again, and a rollback ships what ran before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, State
from tests.gitrepo import git


def test_nobody_approves_before_the_commit_is_known(web_app, alice, bob):
    deployment = engine.request_deploy(alice, *_target("prod"), "main")  # its pin task has not run
    assert deployment.pinning and deployment.commit_sha == ""

    with pytest.raises(engine.DeployError, match=f"#{deployment.pk} is still being pinned to a commit"):
        engine.approve(bob, deployment.pk)

    engine.pin(deployment.pk)
    engine.approve(bob, deployment.pk, web_app.shas[-1][:7])
    assert Deployment.objects.get(pk=deployment.pk).state == State.QUEUED


def test_a_queued_deploy_starts_only_once_it_is_pinned(web_app, alice, django_capture_on_commit_callbacks):
    deployment = engine.request_deploy(alice, *_target("staging"), "v2")
    assert deployment.state == State.QUEUED

    assert engine.start_next(deployment.target_id) is None  # still pinning: it waits, and nothing jumps ahead
    with django_capture_on_commit_callbacks(execute=True):
        engine.pin(deployment.pk)

    deployment.refresh_from_db()
    assert deployment.commit_sha == web_app.shas[1]
    assert deployment.state == State.SUCCEEDED


def test_the_sweep_takes_up_a_pin_whose_task_was_lost(web_app, alice, django_capture_on_commit_callbacks):
    deployment = engine.request_deploy(alice, *_target("prod"), "v1")
    Deployment.objects.filter(pk=deployment.pk).update(requested_at=timezone.now() - timedelta(minutes=2))

    with django_capture_on_commit_callbacks(execute=True):
        engine.recover_lost_work(timezone.now())

    deployment.refresh_from_db()
    assert (deployment.pinning, deployment.commit_sha) == (False, web_app.shas[0])
    assert deployment.state == State.AWAITING_APPROVAL


def test_a_rollback_ships_the_commit_its_version_shipped_even_after_the_tag_moved(web_app, say):
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")
    git(web_app.directory, "tag", "--force", "v1", web_app.shas[-1])  # someone moved the tag since

    say("alice", "/rollback web-app staging v1")

    rollback = Deployment.objects.latest("id")
    assert rollback.state == State.SUCCEEDED
    assert rollback.commit_sha == web_app.shas[0]
    assert rollback.changes["undoes"] and rollback.changes["total"] == 1
    assert rollback.changes["commits"][0]["title"] == "Add the cart (#12)"


def test_a_service_without_a_repository_is_not_pinned(web_app, say):
    target = DeployTarget.objects.get(service__name="web-app", environment__name="staging")
    target.service.repository = ""
    target.service.save()

    say("alice", "/deploy web-app staging anything-goes")

    deployment = Deployment.objects.get(version="anything-goes")
    assert (deployment.pinning, deployment.commit_sha, deployment.state) == (False, "", State.SUCCEEDED)


def _target(environment: str):
    target = DeployTarget.objects.select_related("service", "environment").get(
        service__name="web-app", environment__name=environment
    )
    return target.service, target.environment
