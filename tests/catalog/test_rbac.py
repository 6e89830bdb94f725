"""Who may do what: the seeded personas, group and scoped grants, and the querysets narrowed by them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from chatops_site.catalog import rbac
from chatops_site.catalog.models import Environment, Grant, Service
from chatops_site.deploys.models import Deployment, State


@pytest.fixture
def svc(catalog):
    return {s.name: s for s in Service.objects.all()}


@pytest.fixture
def env(catalog):
    return {e.name: e for e in Environment.objects.all()}


@pytest.fixture
def make_user(catalog):
    def make(username: str, **extra):
        return get_user_model().objects.create(username=username, **extra)

    return make


def user(username: str):
    return get_user_model().objects.get(username=username)


# The seeded personas: alice deploys, bob approves prod and deploys below it, carol looks.


@pytest.mark.parametrize(
    ("username", "action", "service", "environment", "expected"),
    [
        ("alice", "deploy", "web-app", "prod", True),
        ("alice", "deploy", "api", "dev", True),
        ("alice", "rollback", "worker", "prod", True),
        ("alice", "view", "api", "staging", True),
        ("alice", "approve", "web-app", "prod", False),
        ("alice", "lock", "web-app", "dev", False),
        ("bob", "deploy", "web-app", "prod", False),
        ("bob", "deploy", "web-app", "staging", True),
        ("bob", "deploy", "worker", "dev", True),
        ("bob", "approve", "web-app", "prod", True),
        ("bob", "approve", "api", "prod", True),
        ("bob", "approve", "web-app", "staging", False),
        ("bob", "approve", "web-app", "dev", False),
        ("bob", "rollback", "web-app", "dev", False),
        ("bob", "lock", "api", "prod", True),
        ("bob", "view", "worker", "prod", True),
        ("carol", "view", "web-app", "prod", True),
        ("carol", "view", "api", "dev", True),
        ("carol", "deploy", "web-app", "dev", False),
        ("carol", "rollback", "web-app", "dev", False),
        ("carol", "approve", "web-app", "prod", False),
        ("carol", "lock", "web-app", "dev", False),
    ],
)
def test_seeded_personas_may_do_exactly_what_their_grants_say(
    svc, env, username, action, service, environment, expected
):
    assert rbac.may(user(username), action, svc[service], env[environment]) is expected


@pytest.mark.parametrize(
    ("username", "action", "expected"),
    [
        ("carol", "view", True),
        ("carol", "deploy", False),
        ("bob", "deploy", True),  # somewhere: dev and staging
        ("bob", "approve", True),
        ("alice", "lock", False),
    ],
)
def test_may_without_service_or_environment_asks_whether_anywhere_at_all(catalog, username, action, expected):
    assert rbac.may(user(username), action) is expected


def test_may_with_only_an_environment_checks_that_environment(catalog, env):
    bob = user("bob")
    assert rbac.may(bob, "approve", environment=env["prod"])
    assert not rbac.may(bob, "approve", environment=env["staging"])
    assert rbac.may(bob, "deploy", environment=env["dev"])
    assert not rbac.may(bob, "deploy", environment=env["prod"])


def test_nobody_may_do_anything(svc, env):
    assert not rbac.may(None, "view")
    assert not rbac.may(None, "deploy", svc["api"], env["dev"])


def test_a_user_without_grants_may_do_nothing(make_user, svc, env):
    dave = make_user("dave")
    for action in ("deploy", "rollback", "approve", "lock", "view"):
        assert not rbac.may(dave, action)
        assert not rbac.may(dave, action, svc["api"], env["dev"])


def test_an_inactive_user_is_denied_whatever_the_grants(svc, env):
    alice = user("alice")
    alice.is_active = False
    alice.save()
    assert not rbac.may(alice, "deploy", svc["web-app"], env["dev"])
    assert not rbac.may(alice, "view")
    with pytest.raises(rbac.Denied):
        rbac.require(alice, "deploy", svc["web-app"], env["dev"])


def test_a_superuser_still_needs_grants(make_user, svc, env):
    root = make_user("root", is_superuser=True, is_staff=True)
    assert not rbac.may(root, "deploy", svc["api"], env["prod"])


# Group grants


def test_a_group_grant_covers_its_members(make_user, svc, env):
    dave = make_user("dave")
    oncall = Group.objects.create(name="oncall")
    Grant.objects.create(group=oncall, action="rollback", environment=env["prod"])
    assert not rbac.may(dave, "rollback", svc["api"], env["prod"])
    dave.groups.add(oncall)
    assert rbac.may(dave, "rollback", svc["api"], env["prod"])
    assert rbac.may(dave, "rollback", svc["worker"], env["prod"])
    assert not rbac.may(dave, "rollback", svc["api"], env["staging"])
    assert not rbac.may(dave, "deploy", svc["api"], env["prod"])


def test_a_group_grant_does_not_cover_people_outside_the_group(make_user, svc, env):
    make_user("dave").groups.add(Group.objects.create(name="oncall"))
    Grant.objects.create(group=Group.objects.get(name="oncall"), action="lock")
    assert not rbac.may(make_user("erin"), "lock", svc["api"], env["prod"])


def test_direct_and_group_grants_add_up(make_user, svc, env):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="deploy", environment=env["dev"])
    platform = Group.objects.create(name="platform")
    Grant.objects.create(group=platform, action="deploy", environment=env["staging"])
    dave.groups.add(platform)
    assert rbac.may(dave, "deploy", svc["api"], env["dev"])
    assert rbac.may(dave, "deploy", svc["api"], env["staging"])
    assert not rbac.may(dave, "deploy", svc["api"], env["prod"])


# Scoped grants


def test_a_grant_on_one_service_covers_it_in_every_environment(make_user, svc, env):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="deploy", service=svc["api"])
    for name in ("dev", "staging", "prod"):
        assert rbac.may(dave, "deploy", svc["api"], env[name])
        assert not rbac.may(dave, "deploy", svc["web-app"], env[name])


def test_a_grant_on_one_environment_covers_every_service_there(make_user, svc, env):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="deploy", environment=env["staging"])
    for name in ("web-app", "api", "worker"):
        assert rbac.may(dave, "deploy", svc[name], env["staging"])
        assert not rbac.may(dave, "deploy", svc[name], env["prod"])


def test_a_grant_on_one_service_in_one_environment_covers_only_that_pair(make_user, svc, env):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="deploy", service=svc["api"], environment=env["prod"])
    allowed = {
        (s, e)
        for s in ("web-app", "api", "worker")
        for e in ("dev", "staging", "prod")
        if rbac.may(dave, "deploy", svc[s], env[e])
    }
    assert allowed == {("api", "prod")}


def test_a_grant_for_one_action_allows_no_other(make_user, svc, env):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="view")
    assert rbac.may(dave, "view", svc["api"], env["prod"])
    for action in ("deploy", "rollback", "approve", "lock"):
        assert not rbac.may(dave, action, svc["api"], env["prod"])


# require: the refusal people read


def test_require_is_silent_when_allowed(svc, env):
    assert rbac.require(user("bob"), "approve", svc["web-app"], env["prod"]) is None


def test_require_names_user_action_service_and_environment(svc, env):
    with pytest.raises(rbac.Denied) as denied:
        rbac.require(user("bob"), "deploy", svc["web-app"], env["prod"])
    assert str(denied.value) == "bob may not deploy web-app in prod: ask an admin for the 'deploy' grant."


def test_require_uses_the_actions_label(svc, env):
    with pytest.raises(rbac.Denied) as denied:
        rbac.require(user("carol"), "lock", svc["api"], env["dev"])
    assert str(denied.value) == "carol may not lock / unlock api in dev: ask an admin for the 'lock' grant."


def test_require_with_only_a_service_names_the_service(svc):
    with pytest.raises(rbac.Denied) as denied:
        rbac.require(user("carol"), "rollback", svc["worker"])
    assert str(denied.value) == "carol may not rollback worker: ask an admin for the 'rollback' grant."


def test_require_without_a_target_names_the_action(catalog, make_user):
    with pytest.raises(rbac.Denied) as denied:
        rbac.require(make_user("dave"), "view")
    assert str(denied.value) == "dave may not view history: ask an admin for the 'view' grant."


def test_require_of_nobody_says_you(svc, env):
    with pytest.raises(rbac.Denied) as denied:
        rbac.require(None, "deploy", svc["api"], env["dev"])
    assert str(denied.value) == "you may not deploy api in dev: ask an admin for the 'deploy' grant."


def test_require_with_only_an_environment_names_the_environment(env):
    with pytest.raises(rbac.Denied) as denied:
        rbac.require(user("carol"), "deploy", environment=env["prod"])
    assert "prod" in str(denied.value)


# holders: who could approve


def test_bob_is_the_only_one_who_may_approve_prod(svc, env):
    assert list(rbac.holders("approve", svc["web-app"], env["prod"])) == [user("bob")]


def test_nobody_may_approve_staging(svc, env):
    assert list(rbac.holders("approve", svc["web-app"], env["staging"])) == []


def test_holders_of_view_are_everyone_seeded(svc, env):
    assert [u.username for u in rbac.holders("view", svc["api"], env["dev"])] == ["alice", "bob", "carol"]


def test_holders_include_group_members_once_each(make_user, svc, env):
    approvers = Group.objects.create(name="approvers")
    Grant.objects.create(group=approvers, action="approve", service=svc["web-app"])
    erin = make_user("erin")
    erin.groups.add(approvers)
    bob = user("bob")
    bob.groups.add(approvers)  # bob holds it directly too: listed once
    assert [u.username for u in rbac.holders("approve", svc["web-app"], env["prod"])] == ["bob", "erin"]
    # In staging, bob holds it only through the group.
    assert [u.username for u in rbac.holders("approve", svc["web-app"], env["staging"])] == ["bob", "erin"]
    assert [u.username for u in rbac.holders("approve", svc["api"], env["prod"])] == ["bob"]
    assert [u.username for u in rbac.holders("approve", svc["api"], env["staging"])] == []


def test_holders_leave_out_inactive_users(make_user, svc, env):
    bob = user("bob")
    bob.is_active = False
    bob.save()
    assert list(rbac.holders("approve", svc["web-app"], env["prod"])) == []


def test_holders_respect_scoped_grants(make_user, svc, env):
    frank = make_user("frank")
    Grant.objects.create(user=frank, action="approve", service=svc["api"], environment=env["prod"])
    assert [u.username for u in rbac.holders("approve", svc["api"], env["prod"])] == ["bob", "frank"]
    assert [u.username for u in rbac.holders("approve", svc["worker"], env["prod"])] == ["bob"]


# restrict: querysets narrowed to what a user may see


@pytest.fixture
def deployments(svc, env):
    """One finished deployment of every service in every environment, keyed by (service, environment)."""
    alice = user("alice")
    made = {}
    for service in svc.values():
        for target in service.targets.select_related("environment"):
            made[(service.name, target.environment.name)] = Deployment.objects.create(
                target=target, version="v1", requested_by=alice, state=State.SUCCEEDED
            )
    return made


def visible(queryset) -> set[tuple[str, str]]:
    return set(queryset.values_list("target__service__name", "target__environment__name"))


def restricted(who, action="view"):
    return rbac.restrict(Deployment.objects.all(), who, action, "target__service", "target__environment")


def test_restrict_with_a_grant_on_everything_shows_everything(deployments):
    assert visible(restricted(user("carol"))) == set(deployments)
    assert restricted(user("carol")).count() == 9


def test_restrict_with_a_view_grant_on_api_shows_only_api(deployments, make_user, svc):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="view", service=svc["api"])
    assert visible(restricted(dave)) == {("api", "dev"), ("api", "staging"), ("api", "prod")}


def test_restrict_with_a_grant_on_one_environment_shows_every_service_there(deployments, make_user, env):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="view", environment=env["prod"])
    assert visible(restricted(dave)) == {("web-app", "prod"), ("api", "prod"), ("worker", "prod")}


def test_restrict_with_a_grant_on_one_pair_shows_only_that_pair(deployments, make_user, svc, env):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="view", service=svc["worker"], environment=env["dev"])
    assert visible(restricted(dave)) == {("worker", "dev")}


def test_restrict_adds_up_several_scoped_grants(deployments, make_user, svc, env):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="view", service=svc["worker"], environment=env["dev"])
    Grant.objects.create(user=dave, action="view", environment=env["prod"])
    observers = Group.objects.create(name="observers")
    Grant.objects.create(group=observers, action="view", service=svc["api"], environment=env["staging"])
    dave.groups.add(observers)
    assert visible(restricted(dave)) == {
        ("worker", "dev"),
        ("web-app", "prod"),
        ("api", "prod"),
        ("worker", "prod"),
        ("api", "staging"),
    }


def test_restrict_follows_a_group_grant_on_everything(deployments, make_user):
    dave = make_user("dave")
    everyone = Group.objects.create(name="everyone")
    Grant.objects.create(group=everyone, action="view")
    dave.groups.add(everyone)
    assert visible(restricted(dave)) == set(deployments)


def test_restrict_without_a_grant_shows_nothing(deployments, make_user):
    assert not restricted(make_user("dave")).exists()


def test_restrict_only_counts_grants_for_the_asked_action(deployments, make_user, svc):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="deploy", service=svc["api"])
    assert not restricted(dave, "view").exists()
    assert visible(restricted(dave, "deploy")) == {("api", "dev"), ("api", "staging"), ("api", "prod")}


def test_restrict_shows_nothing_to_nobody_or_an_inactive_user(deployments):
    assert not restricted(None).exists()
    carol = user("carol")
    carol.is_active = False
    carol.save()
    assert not restricted(carol).exists()


def test_restrict_keeps_filters_already_on_the_queryset(deployments, make_user, svc):
    dave = make_user("dave")
    Grant.objects.create(user=dave, action="view", service=svc["api"])
    narrowed = rbac.restrict(
        Deployment.objects.filter(target__environment__name="dev"),
        dave,
        "view",
        "target__service",
        "target__environment",
    )
    assert visible(narrowed) == {("api", "dev")}
