"""The deploy rules (chatops_site/deploys/engine.py): states, approvals, locks, the queue, rollbacks, timeouts.

Tasks run inline (tests/settings.py), but only once the transaction that enqueued them "commits":
`with committed(): ...` runs everything the block enqueued, and what those tasks enqueue in turn.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.models import Schedule

from bots.models import CommandRun, Outcome
from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, Environment, Grant
from chatops_site.deploys import engine
from chatops_site.deploys.engine import DeployError
from chatops_site.deploys.models import ACTIVE_STATES, Approval, Decision, Deployment, Kind, Lock, State
from integrations.providers import RunStatus
from tests.deploys.helpers import fresh, path, place, slow, target_of

CHECK_TASK = "chatops_site.deploys.tasks.check"
HAPPY_PATH = [
    ("", State.QUEUED),
    (State.QUEUED, State.DISPATCHING),
    (State.DISPATCHING, State.RUNNING),
    (State.RUNNING, State.SUCCEEDED),
]


# Helpers


def hhmm(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


# The state machine


def test_a_staging_deploy_goes_queued_dispatching_running_succeeded(deploy, alice):
    before = timezone.now()

    deployment = deploy(alice, "staging", "v1.2.3")

    assert deployment.state == State.SUCCEEDED, deployment.detail
    assert path(deployment) == HAPPY_PATH
    events = list(deployment.events.order_by("id"))
    assert [e.actor for e in events] == [alice, None, None, None]
    assert events[0].message == "deploy of v1.2.3 requested"
    assert events[2].message == f"run sim-{deployment.pk} started"
    assert events[3].message == "simulated deploy finished"
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    assert before <= deployment.requested_at <= deployment.queued_at <= deployment.started_at
    assert deployment.started_at <= deployment.finished_at <= timezone.now()
    assert deployment.provider_run_id == f"sim-{deployment.pk}"
    assert deployment.artifact == "registry.local/web-app:v1.2.3"
    assert deployment.detail == "simulated deploy finished"
    assert deployment.dispatch_attempts == 1
    assert deployment.next_check_at is None
    assert deployment.kind == Kind.DEPLOY and deployment.requested_by == alice


def test_a_deploy_without_a_version_uses_the_targets_default_version(committed, alice):
    with committed():
        deployment = engine.request_deploy(alice, *place("web-app", "staging"))

    deployment.refresh_from_db()
    assert deployment.version == "main"
    assert deployment.state == State.SUCCEEDED


def test_a_version_containing_fail_ends_failed_with_the_providers_detail(deploy, alice):
    deployment = deploy(alice, "staging", "v2-fail")

    assert deployment.state == State.FAILED
    assert deployment.detail == "simulated failure of version v2-fail"
    assert path(deployment)[-1] == (State.RUNNING, State.FAILED)
    assert deployment.events.last().message == "simulated failure of version v2-fail"
    assert deployment.finished_at is not None and deployment.next_check_at is None
    assert deployment.artifact == ""


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (State.QUEUED, State.RUNNING),
        (State.QUEUED, State.SUCCEEDED),
        (State.AWAITING_APPROVAL, State.DISPATCHING),
        (State.DISPATCHING, State.SUCCEEDED),
        (State.RUNNING, State.QUEUED),
        (State.SUCCEEDED, State.RUNNING),
        (State.FAILED, State.QUEUED),
        (State.REJECTED, State.QUEUED),
        (State.TIMED_OUT, State.SUCCEEDED),
    ],
)
def test_a_transition_outside_the_state_machine_raises_deploy_error_and_changes_nothing(alice, start, to):
    deployment = Deployment.objects.create(
        target=target_of(), version="v1", requested_by=alice, state=start, started_at=timezone.now()
    )

    with pytest.raises(DeployError, match=f"cannot go from {start} to {to}"):
        engine._move(deployment, to)

    assert fresh(deployment) == [start]
    assert not deployment.events.exists()


def test_approving_a_deployment_that_does_not_wait_for_approval_is_refused(deploy, alice, bob):
    Grant.objects.create(user=bob, action=Action.APPROVE)  # so the state is what refuses
    deployment = deploy(alice, "staging", "v1")

    with pytest.raises(DeployError, match=f"#{deployment.pk} is succeeded, not awaiting approval"):
        engine.approve(bob, deployment.pk)

    assert not Approval.objects.exists()
    assert path(deployment) == HAPPY_PATH


def test_the_grant_is_settled_before_the_state_is_told(deploy, committed, alice, bob, carol):
    waiting = deploy(alice, "prod", "v1")
    with committed():
        engine.approve(bob, waiting.pk)

    with pytest.raises(rbac.Denied, match="carol may not approve web-app in prod"):
        engine.approve(carol, waiting.pk)  # not "already approved by bob"


def test_a_deployment_one_may_not_see_does_not_exist_for_them(deploy, alice, carol):
    waiting = deploy(alice, "prod", "v1")
    Grant.objects.filter(user=carol).delete()

    for decide in (engine.approve, engine.reject, engine.cancel):
        with pytest.raises(engine.UnknownDeployment, match=rf"There is no deployment #{waiting.pk}\."):
            decide(carol, waiting.pk)
    with pytest.raises(engine.UnknownDeployment, match=r"There is no deployment #999\."):
        engine.approve(carol, 999)


def test_only_waiting_deployments_can_be_cancelled(deploy, alice):
    slow()
    running = deploy(alice, "staging", "v1")
    queued = deploy(alice, "staging", "v2")

    with pytest.raises(DeployError, match="only waiting ones can be cancelled"):
        engine.cancel(alice, running.pk)
    engine.cancel(alice, queued.pk)

    assert fresh(running, queued) == [State.RUNNING, State.CANCELLED]


def test_late_provider_answers_for_a_finished_deployment_are_ignored(deploy, committed, alice):
    deployment = deploy(alice, "staging", "v1")

    with committed():
        assert engine.record_status(deployment.pk, RunStatus("failed", detail="late news")) is None
        assert engine.fail(deployment.pk, "late failure") is None

    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED
    assert deployment.detail == "simulated deploy finished"
    assert path(deployment) == HAPPY_PATH


def test_an_unknown_deployment_id_is_a_readable_deploy_error(bob):
    with pytest.raises(DeployError, match="There is no deployment #999"):
        engine.approve(bob, 999)


# Approval


def test_a_prod_deploy_waits_for_approval_and_does_not_start(deploy, alice):
    deployment = deploy(alice, "prod", "v1")

    assert deployment.state == State.AWAITING_APPROVAL
    assert path(deployment) == [("", State.AWAITING_APPROVAL)]
    assert deployment.queued_at is None and deployment.started_at is None
    assert deployment.provider_run_id == ""
    assert not Approval.objects.exists()


@pytest.mark.parametrize("holds_approve", [False, True], ids=["without-grant", "with-approve-grant"])
def test_the_requester_cannot_approve_their_own_deploy(deploy, alice, holds_approve):
    if holds_approve:
        Grant.objects.create(user=alice, action=Action.APPROVE)
    deployment = deploy(alice, "prod", "v1")

    with pytest.raises(rbac.Denied, match=f"You requested #{deployment.pk} yourself"):
        engine.approve(alice, deployment.pk)
    with pytest.raises(rbac.Denied, match="yourself"):
        engine.reject(alice, deployment.pk)

    assert fresh(deployment) == [State.AWAITING_APPROVAL]
    assert not Approval.objects.exists()
    assert deployment.events.count() == 1


@pytest.mark.parametrize("decide", [engine.approve, engine.reject], ids=["approve", "reject"])
def test_someone_without_the_approve_grant_cannot_decide(deploy, alice, carol, decide):
    deployment = deploy(alice, "prod", "v1")

    with pytest.raises(rbac.Denied, match="carol may not approve web-app in prod"):
        decide(carol, deployment.pk)

    assert fresh(deployment) == [State.AWAITING_APPROVAL]
    assert not Approval.objects.exists()
    assert deployment.events.count() == 1


def test_an_approve_grant_for_another_environment_does_not_count(deploy, alice, bob):
    Environment.objects.filter(name="staging").update(requires_approval=True)
    waiting = deploy(alice, "staging", "v1")  # bob may approve in prod only

    with pytest.raises(rbac.Denied, match="bob may not approve web-app in staging"):
        engine.approve(bob, waiting.pk)

    assert fresh(waiting) == [State.AWAITING_APPROVAL]
    assert not Approval.objects.exists()


def test_bob_approves_and_the_deploy_runs_to_success(deploy, committed, alice, bob):
    deployment = deploy(alice, "prod", "v1")

    with committed():
        engine.approve(bob, deployment.pk)

    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED
    approval = Approval.objects.get()
    assert (approval.deployment, approval.approver, approval.decision, approval.reason) == (
        deployment,
        bob,
        Decision.APPROVE,
        "",
    )
    assert path(deployment) == [("", State.AWAITING_APPROVAL), (State.AWAITING_APPROVAL, State.QUEUED), *HAPPY_PATH[1:]]
    approved = deployment.events.get(to_state=State.QUEUED)
    assert approved.actor == bob and approved.message == "approved by bob"
    assert deployment.queued_at >= approval.decided_at >= deployment.requested_at
    assert deployment.artifact == "registry.local/web-app:v1"


def test_approving_twice_is_refused_naming_the_first_approver(deploy, committed, alice, bob, django_user_model):
    dave = django_user_model.objects.create(username="dave")
    Grant.objects.create(user=dave, action=Action.APPROVE)
    deployment = deploy(alice, "prod", "v1")
    with committed():
        engine.approve(bob, deployment.pk)
    events = deployment.events.count()

    for approver in (bob, dave):
        with pytest.raises(DeployError, match=f"#{deployment.pk} was already approved by bob at"):
            engine.approve(approver, deployment.pk)

    assert Approval.objects.get().approver == bob
    assert deployment.events.count() == events
    assert fresh(deployment) == [State.SUCCEEDED]


def test_a_rejected_deploy_records_the_reason_and_never_runs(deploy, committed, alice, bob):
    deployment = deploy(alice, "prod", "v1")

    with committed():
        engine.reject(bob, deployment.pk, "wrong version")

    deployment.refresh_from_db()
    assert deployment.state == State.REJECTED
    approval = Approval.objects.get()
    assert (approval.approver, approval.decision, approval.reason) == (bob, Decision.REJECT, "wrong version")
    assert path(deployment) == [("", State.AWAITING_APPROVAL), (State.AWAITING_APPROVAL, State.REJECTED)]
    rejected = deployment.events.last()
    assert rejected.actor == bob and rejected.message == "rejected by bob: wrong version"
    assert deployment.started_at is None and deployment.provider_run_id == "" and deployment.dispatch_attempts == 0
    assert deployment.finished_at is not None
    with pytest.raises(DeployError, match="already rejected by bob"):
        engine.approve(bob, deployment.pk)
    assert fresh(deployment) == [State.REJECTED]


@pytest.mark.parametrize("decide", [engine.approve, engine.reject], ids=["approve", "reject"])
def test_a_decision_after_the_approval_ttl_expires_the_deploy_instead(deploy, committed, alice, bob, settings, decide):
    settings.CHATOPS_APPROVAL_TTL = 60
    deployment = deploy(alice, "prod", "v1")
    Deployment.objects.filter(pk=deployment.pk).update(requested_at=timezone.now() - timedelta(seconds=61))

    with committed(), pytest.raises(DeployError, match=f"#{deployment.pk} waited too long for approval"):
        decide(bob, deployment.pk)

    deployment.refresh_from_db()
    assert deployment.state == State.EXPIRED
    assert deployment.finished_at is not None
    assert not Approval.objects.exists()
    expired = deployment.events.last()
    assert (expired.from_state, expired.to_state, expired.actor) == (State.AWAITING_APPROVAL, State.EXPIRED, None)
    assert expired.message == "nobody approved it in time"


def test_a_decision_within_the_approval_ttl_goes_through(deploy, committed, alice, bob, settings):
    settings.CHATOPS_APPROVAL_TTL = 60
    deployment = deploy(alice, "prod", "v1")
    Deployment.objects.filter(pk=deployment.pk).update(requested_at=timezone.now() - timedelta(seconds=50))

    with committed():
        engine.approve(bob, deployment.pk)

    assert fresh(deployment) == [State.SUCCEEDED]


def test_expire_approvals_expires_stale_requests_only(deploy, alice, settings):
    settings.CHATOPS_APPROVAL_TTL = 600
    stale = deploy(alice, "prod", "v1")
    fresh_one = deploy(alice, "prod", "v2")
    other = deploy(alice, "prod", "v3", service="api")
    finished = deploy(alice, "staging", "v1")
    long_ago = timezone.now() - timedelta(seconds=601)
    Deployment.objects.filter(pk__in=[stale.pk, other.pk, finished.pk]).update(requested_at=long_ago)

    assert engine.expire_approvals() == 2

    assert fresh(stale, fresh_one, other, finished) == [
        State.EXPIRED,
        State.AWAITING_APPROVAL,
        State.EXPIRED,
        State.SUCCEEDED,
    ]
    assert path(stale)[-1] == (State.AWAITING_APPROVAL, State.EXPIRED)
    assert path(finished) == HAPPY_PATH
    assert engine.expire_approvals() == 0  # idempotent


# Locks


def test_a_lock_refuses_new_requests_saying_who_since_when_and_why(deploy, alice, bob):
    lock = engine.lock(bob, *place("web-app", "staging"), "release freeze")

    with pytest.raises(DeployError) as refused:
        engine.request_deploy(alice, *place("web-app", "staging"), "v1")

    assert str(refused.value) == f"web-app/staging is locked by bob since {hhmm(lock.created_at)}: release freeze."
    assert not Deployment.objects.exists()
    # Other targets of the same service are not frozen.
    assert deploy(alice, "dev", "v1").state == State.SUCCEEDED


def test_a_lock_with_an_end_says_until_when(alice, bob):
    until = timezone.now() + timedelta(hours=2)
    lock = engine.lock(bob, *place("web-app", "staging"), "migration", until=until)

    with pytest.raises(DeployError) as refused:
        engine.request_deploy(alice, *place("web-app", "staging"), "v1")

    assert str(refused.value).startswith(f"web-app/staging is locked by bob since {hhmm(lock.created_at)}: migration")
    assert "(until " in str(refused.value)


def test_locking_a_locked_target_is_refused(bob):
    first = engine.lock(bob, *place("web-app", "staging"), "release freeze")

    with pytest.raises(DeployError) as refused:
        engine.lock(bob, *place("web-app", "staging"), "another")

    since = hhmm(first.created_at)
    assert str(refused.value) == f"Already locked: web-app/staging is locked by bob since {since}: release freeze."

    assert list(Lock.objects.all()) == [first]


def test_queued_deployments_do_not_start_while_locked_and_start_on_unlock(deploy, committed, alice, bob):
    slow()
    running = deploy(alice, "staging", "v1")
    waiting = deploy(alice, "staging", "v2")
    engine.lock(bob, *place("web-app", "staging"), "incident")

    with committed():
        engine.record_status(running.pk, RunStatus("succeeded"))

    assert fresh(running, waiting) == [State.SUCCEEDED, State.QUEUED]
    assert not Deployment.objects.filter(state__in=ACTIVE_STATES).exists()

    with committed():
        lock = engine.unlock(bob, *place("web-app", "staging"))

    assert lock.released_by == bob and lock.released_at is not None
    assert fresh(waiting) == [State.RUNNING]


def test_an_approval_given_during_a_lock_waits_for_the_unlock(deploy, committed, alice, bob):
    deployment = deploy(alice, "prod", "v1")
    engine.lock(bob, *place("web-app", "prod"), "change freeze")

    with committed():
        engine.approve(bob, deployment.pk)

    assert fresh(deployment) == [State.QUEUED]

    with committed():
        engine.unlock(bob, *place("web-app", "prod"))

    assert fresh(deployment) == [State.SUCCEEDED]


def test_a_lock_whose_until_has_passed_no_longer_blocks_and_can_be_replaced(deploy, alice, bob):
    old = engine.lock(bob, *place("web-app", "staging"), "maintenance", until=timezone.now() + timedelta(hours=1))
    ended = timezone.now() - timedelta(minutes=1)
    Lock.objects.filter(pk=old.pk).update(until=ended)  # an hour later

    assert deploy(alice, "staging", "v1").state == State.SUCCEEDED
    with pytest.raises(DeployError, match="web-app/staging is not locked"):
        engine.unlock(bob, *place("web-app", "staging"))
    new = engine.lock(bob, *place("web-app", "staging"), "new freeze")

    old.refresh_from_db()
    assert old.released_at == ended
    assert new.is_active and new.reason == "new freeze"
    assert engine.active_lock(target_of()) == new


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_only_lock_grant_holders_may_lock_or_unlock(request, bob, who):
    user = request.getfixturevalue(who)

    with pytest.raises(rbac.Denied, match=f"{who} may not lock / unlock web-app in staging"):
        engine.lock(user, *place("web-app", "staging"), "mine")
    assert not Lock.objects.exists()

    engine.lock(bob, *place("web-app", "staging"), "bob's")
    with pytest.raises(rbac.Denied):
        engine.unlock(user, *place("web-app", "staging"))
    assert Lock.objects.get().released_at is None


# The queue


def test_requests_for_a_busy_target_queue_and_start_one_at_a_time_in_order(deploy, committed, alice):
    slow(delay="1h")
    first = deploy(alice, "staging", "v1")

    assert first.state == State.RUNNING
    check = Schedule.objects.get(func=CHECK_TASK)
    assert check.args == repr((first.pk, first.next_check_at.isoformat()))
    assert check.next_run > timezone.now() + timedelta(minutes=59)

    waiting = [deploy(alice, "staging", f"v{n}") for n in (2, 3, 4)]
    assert [d.state for d in waiting] == [State.QUEUED] * 3
    assert Deployment.objects.filter(state__in=ACTIVE_STATES).count() == 1

    running = first
    for n, following in enumerate(waiting):
        with committed():
            engine.record_status(running.pk, RunStatus("succeeded"))
        assert fresh(running, following) == [State.SUCCEEDED, State.RUNNING]
        assert fresh(*waiting[n + 1 :]) == [State.QUEUED] * (2 - n)
        assert list(Deployment.objects.filter(state__in=ACTIVE_STATES)) == [following]
        running = following

    with committed():
        engine.record_status(running.pk, RunStatus("succeeded"))
    all_four = Deployment.objects.order_by("started_at")
    assert [d.version for d in all_four] == ["v1", "v2", "v3", "v4"]
    assert {d.state for d in all_four} == {State.SUCCEEDED}
    assert Schedule.objects.filter(func=CHECK_TASK).count() == 4


def test_a_status_that_is_not_final_keeps_the_deployment_running_and_schedules_the_next_check(deploy, committed, alice):
    slow(delay="1h")
    deployment = deploy(alice, "staging", "v1")
    before = timezone.now()

    with committed():
        engine.record_status(
            deployment.pk, RunStatus("running", url="https://ci.example/run/1", artifact="img:1", check_in=600)
        )

    later = Deployment.objects.get(pk=deployment.pk)
    assert later.state == State.RUNNING
    assert later.provider_run_url == "https://ci.example/run/1" and later.artifact == "img:1"
    assert before + timedelta(seconds=600) <= later.next_check_at <= timezone.now() + timedelta(seconds=600)
    assert Schedule.objects.filter(func=CHECK_TASK, args=repr((later.pk, later.next_check_at.isoformat()))).exists()


def test_the_database_refuses_two_active_deployments_for_one_target(deploy, alice):
    target = slow()
    running = deploy(alice, "staging", "v1")
    queued = deploy(alice, "staging", "v2")

    with pytest.raises(IntegrityError), transaction.atomic():
        Deployment.objects.filter(pk=queued.pk).update(state=State.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        Deployment.objects.create(target=target, version="v3", requested_by=alice, state=State.DISPATCHING)

    assert fresh(running, queued) == [State.RUNNING, State.QUEUED]
    # The rule is per target: another target may run at the same time.
    Deployment.objects.create(target=target_of("web-app", "dev"), version="v1", requested_by=alice, state="running")
    assert Deployment.objects.filter(state__in=ACTIVE_STATES).count() == 2


# Rollback


@pytest.fixture
def history(deploy, alice):
    """v1, v2, v3 succeeded on web-app/staging, then v4 failed."""
    deployments = {v: deploy(alice, "staging", v) for v in ("v1", "v2", "v3", "v4-fail")}
    assert [d.state for d in deployments.values()] == [State.SUCCEEDED] * 3 + [State.FAILED]
    return deployments


def test_rollback_picks_the_last_good_version_before_the_current_one(history, say):
    reply = say("alice", "/rollback web-app staging")

    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert rollback.version == "v2"
    assert rollback.rollback_of == history["v3"]
    assert rollback.state == State.SUCCEEDED
    assert reply.text.startswith(f"⏳ Rollback #{rollback.pk} of web-app v2 to staging")
    run = CommandRun.objects.get(pk=reply.run_id)
    assert (run.outcome, run.deployment) == (Outcome.OK, rollback)
    assert engine.current_deployment(target_of()) == rollback


def test_rollback_honours_an_explicit_version(history, say):
    say("alice", "/rollback web-app staging v1")

    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert (rollback.version, rollback.rollback_of, rollback.state) == ("v1", history["v3"], State.SUCCEEDED)


def test_a_second_rollback_goes_one_step_further_back(history, say):
    say("alice", "/rollback web-app staging")
    say("alice", "/rollback web-app staging")

    first, second = Deployment.objects.filter(kind=Kind.ROLLBACK).order_by("id")
    assert (first.version, second.version) == ("v2", "v1")
    assert second.rollback_of == first


def test_an_explicit_rollback_version_must_have_succeeded_on_the_target(deploy, alice):
    deploy(alice, "staging", "v1")
    deploy(alice, "staging", "v2")

    with pytest.raises(DeployError, match=r"v0 never succeeded on web-app/staging.*/deploy web-app staging v0"):
        engine.request_deploy(alice, *place("web-app", "staging"), "v0", kind=Kind.ROLLBACK)
    rollback = engine.request_deploy(alice, *place("web-app", "staging"), "v1", kind=Kind.ROLLBACK)

    assert rollback.version == "v1"


@pytest.mark.parametrize("earlier", [[], ["v1-fail"]], ids=["no-deploys", "only-failures"])
def test_rollback_with_nothing_deployed_is_refused(deploy, alice, earlier):
    for version in earlier:
        deploy(alice, "staging", version)

    with pytest.raises(DeployError, match="Nothing has been deployed to web-app/staging yet"):
        engine.request_deploy(alice, *place("web-app", "staging"), kind=Kind.ROLLBACK)

    assert not Deployment.objects.filter(kind=Kind.ROLLBACK).exists()


@pytest.mark.parametrize("earlier", [["v1"], ["v1", "v1"]], ids=["once", "redeployed"])
def test_rollback_with_only_one_version_ever_is_refused(deploy, alice, earlier):
    for version in earlier:
        deploy(alice, "staging", version)

    with pytest.raises(DeployError, match="web-app/staging has no earlier successful version than v1"):
        engine.request_deploy(alice, *place("web-app", "staging"), kind=Kind.ROLLBACK)

    assert not Deployment.objects.filter(kind=Kind.ROLLBACK).exists()


def test_rollback_needs_the_rollback_grant(history, bob):
    with pytest.raises(rbac.Denied, match="bob may not rollback web-app in staging"):
        engine.request_deploy(bob, *place("web-app", "staging"), kind=Kind.ROLLBACK)


# Timeouts


def test_time_out_stuck_times_out_overdue_runs_and_starts_the_next_in_line(deploy, committed, alice):
    target = slow()
    stuck = deploy(alice, "staging", "v1")
    waiting = deploy(alice, "staging", "v2")

    with committed():
        count = engine.time_out_stuck(now=stuck.started_at + target.timeout + timedelta(seconds=1))

    assert count == 1
    stuck.refresh_from_db()
    assert stuck.state == State.TIMED_OUT
    assert stuck.finished_at is not None and stuck.next_check_at is None
    last = stuck.events.last()
    assert (last.from_state, last.to_state) == (State.RUNNING, State.TIMED_OUT)
    assert last.message.startswith("still not finished after")
    assert fresh(waiting) == [State.RUNNING]


def test_time_out_stuck_also_ends_a_deployment_stuck_dispatching(committed, alice):
    long_ago = timezone.now() - timedelta(hours=1)
    stuck = Deployment.objects.create(
        target=target_of(), version="v1", requested_by=alice, state=State.DISPATCHING, started_at=long_ago
    )

    with committed():
        assert engine.time_out_stuck() == 1

    assert fresh(stuck) == [State.TIMED_OUT]


def test_time_out_stuck_leaves_runs_within_their_timeout_alone(deploy, committed, alice):
    target = slow()
    running = deploy(alice, "staging", "v1")
    waiting = deploy(alice, "staging", "v2")

    with committed():
        count = engine.time_out_stuck(now=running.started_at + target.timeout - timedelta(seconds=1))

    assert count == 0
    assert fresh(running, waiting) == [State.RUNNING, State.QUEUED]
    assert running.events.count() == 3
