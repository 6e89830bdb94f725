"""Who the watch is when it rolls back: a user nobody can be, allowed one thing only (AWS-free; see tests/aws)."""

from __future__ import annotations

import pytest

from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, ChatIdentity, DeployTarget
from chatops_site.demo import seed_watches
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, Kind, State, Watch
from tests.deploys.helpers import place


def test_the_watch_only_ever_rolls_back(deploy, alice):
    deploy(alice, version="v1")

    with pytest.raises(engine.DeployError, match="The watch only ever rolls back"):
        engine.request_deploy(engine.watch_user(), *place(), "v9", Kind.DEPLOY, by_watch=True)

    assert Deployment.objects.count() == 1


def test_the_watch_user_is_inactive_holds_no_grant_and_has_no_password(catalog):
    user = engine.watch_user()

    assert engine.watch_user() == user  # made once
    assert not user.is_active and not user.has_usable_password()
    assert not rbac.may(user, Action.ROLLBACK, *place())


def test_a_chat_account_linked_to_the_watch_user_may_do_nothing(say):
    ChatIdentity.objects.create(platform="console", workspace="local", chat_user_id="mallory", user=engine.watch_user())

    reply = say("mallory", "/rollback web-app staging")

    assert "is not linked to a ChatOps user" in reply.text  # an inactive user is nobody
    assert not Deployment.objects.exists()


def test_without_a_watch_on_its_target_a_deploy_is_not_watched(deploy, alice):
    deployment = deploy(alice, version="v1")

    assert deployment.state == State.SUCCEEDED
    assert (deployment.watch, deployment.watch_until, deployment.watch_findings) == (Watch.NONE, None, {})


def test_the_demo_watches_two_staging_targets_and_keeps_a_watch_someone_gave(catalog):
    DeployTarget.objects.filter(service__name="api", environment__name="staging").update(watch={"minutes": 9})

    assert seed_watches() == 1
    assert seed_watches() == 0
    watched = {
        (t.service.name, t.environment.name): t.watch
        for t in DeployTarget.objects.exclude(watch={}).select_related("service", "environment")
    }
    assert watched == {
        ("web-app", "staging"): {"minutes": 2, "alarms": ["web-5xx"], "auto_rollback": False},
        ("api", "staging"): {"minutes": 9},
    }
