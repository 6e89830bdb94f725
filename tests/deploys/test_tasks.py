"""The deploy engine's background tasks (chatops_site/deploys/tasks.py) and the notifications they post.

Every task must be safe to run twice, because brokers redeliver; providers are faked where the test
needs them to misbehave. Tasks run inline once `with committed(): ...` ends (see tests/settings.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule

from bots.models import CommandRun, ConsoleMessage
from chatops_site.deploys import engine, tasks
from chatops_site.deploys.models import ACTIVE_STATES, Deployment, DeploymentEvent, Lock, State
from integrations.providers import DeployProvider, Order, ProviderError, Run, RunStatus
from tests.deploys.helpers import fresh, path, slow, target_of

CHECK_TASK = "chatops_site.deploys.tasks.check"


# Helpers


@pytest.fixture
def sleeps(monkeypatch):
    """Waits the tasks asked for, instead of waiting."""
    waited: list[float] = []
    monkeypatch.setattr("chatops_site.deploys.tasks.time.sleep", waited.append)
    return waited


class FakeProvider(DeployProvider):
    """Answers `dispatch` with each of `dispatches` in turn (an exception is raised); `check` likewise."""

    def __init__(self, dispatches=(), checks=()):
        self.dispatches = list(dispatches)
        self.checks = list(checks)
        self.dispatched: list[int] = []
        self.checked: list[int] = []
        self.during_dispatch = None

    def dispatch(self, order: Order) -> Run:
        self.dispatched.append(order.deployment_id)
        if self.during_dispatch:
            self.during_dispatch(order)
        return self._answer(self.dispatches)

    def check(self, order: Order) -> RunStatus:
        self.checked.append(order.deployment_id)
        return self._answer(self.checks)

    @staticmethod
    def _answer(answers):
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def fake_provider(monkeypatch):
    """`provider = fake_provider(dispatches=[...], checks=[...])` replaces every provider the tasks look up."""

    def install(**answers) -> FakeProvider:
        provider = FakeProvider(**answers)
        monkeypatch.setattr("chatops_site.deploys.tasks.get_provider", lambda name: provider)
        return provider

    return install


def dispatching(user, target=None, **fields) -> Deployment:
    """A deployment as start_next leaves it: dispatching, its dispatch task not run yet."""
    now = timezone.now()
    return Deployment.objects.create(
        target=target or target_of(),
        version="v1",
        requested_by=user,
        state=State.DISPATCHING,
        requested_at=now,
        queued_at=now,
        started_at=now,
        **fields,
    )


def channel_texts(channel="ops") -> list[str]:
    return list(ConsoleMessage.objects.filter(channel=channel, run=None).values_list("text", flat=True))


# dispatch


def test_a_provider_that_stays_down_is_retried_then_the_deploy_fails_with_a_readable_message(
    deploy, fake_provider, sleeps, alice
):
    provider = fake_provider(dispatches=[ProviderError("GitHub answered 503")])

    deployment = deploy(alice, "staging", "v1")

    assert deployment.state == State.FAILED
    assert provider.dispatched == [deployment.pk] * tasks.DISPATCH_ATTEMPTS
    assert sleeps == [0, 2.0, 4.0]  # the first try at once, then 2 s and 4 s apart
    assert deployment.dispatch_attempts == tasks.DISPATCH_ATTEMPTS == 3
    message = "could not start the deploy after 3 attempts: GitHub answered 503"
    assert deployment.detail == message
    assert path(deployment) == [
        ("", State.QUEUED),
        (State.QUEUED, State.DISPATCHING),
        (State.DISPATCHING, State.FAILED),
    ]
    assert deployment.events.last().message == message
    assert deployment.finished_at is not None
    assert channel_texts()[-1].startswith(f"❌ Deploy #{deployment.pk} of web-app v1 to staging failed: {message}")


def test_a_provider_that_recovers_before_the_last_attempt_runs_the_deploy(deploy, fake_provider, sleeps, alice):
    provider = fake_provider(
        dispatches=[ProviderError("timeout"), Run("run-42", url="https://ci.example/42", check_in=0)],
        checks=[RunStatus("succeeded", artifact="img:v1")],
    )

    deployment = deploy(alice, "staging", "v1")

    assert deployment.state == State.SUCCEEDED
    assert provider.dispatched == [deployment.pk, deployment.pk]
    assert (deployment.dispatch_attempts, deployment.provider_run_id) == (2, "run-42")
    assert deployment.provider_run_url == "https://ci.example/42"
    assert deployment.artifact == "img:v1"


def test_a_permanent_provider_error_fails_the_deploy_at_once(deploy, fake_provider, sleeps, alice):
    provider = fake_provider(dispatches=[ProviderError("workflow deploy.yml not found", permanent=True)])

    deployment = deploy(alice, "staging", "v1")

    assert deployment.state == State.FAILED
    assert provider.dispatched == [deployment.pk]
    assert sleeps == [0]
    assert deployment.dispatch_attempts == 1
    assert deployment.detail == "could not start the deploy: workflow deploy.yml not found"


def test_a_crashing_provider_fails_the_deploy_without_leaking_the_error(deploy, fake_provider, sleeps, alice):
    fake_provider(dispatches=[RuntimeError("secret token abc123 rejected")])

    deployment = deploy(alice, "staging", "v1")

    assert deployment.state == State.FAILED
    assert deployment.detail == "could not start the deploy: internal error (RuntimeError)"


def test_running_dispatch_twice_for_the_same_attempt_dispatches_once(committed, fake_provider, alice):
    provider = fake_provider(dispatches=[Run("run-1", check_in=3600)])
    deployment = dispatching(alice)

    with committed():
        tasks.dispatch(deployment.pk, 1)
        tasks.dispatch(deployment.pk, 1)

    deployment.refresh_from_db()
    assert provider.dispatched == [deployment.pk]
    assert (deployment.state, deployment.dispatch_attempts, deployment.provider_run_id) == (
        State.RUNNING,
        1,
        "run-1",
    )
    assert path(deployment) == [(State.DISPATCHING, State.RUNNING)]
    assert Schedule.objects.filter(func=CHECK_TASK).count() == 1


def test_a_redelivered_dispatch_arriving_while_the_first_copy_runs_does_nothing(committed, fake_provider, alice):
    provider = fake_provider(dispatches=[Run("run-1", check_in=3600)])
    deployment = dispatching(alice)
    # The broker hands the same task to a second worker while the first is still talking to the provider.
    provider.during_dispatch = lambda o: tasks.dispatch(o.deployment_id, 1) if len(provider.dispatched) == 1 else None

    with committed():
        tasks.dispatch(deployment.pk, 1)

    assert provider.dispatched == [deployment.pk]
    assert fresh(deployment) == [State.RUNNING]
    assert path(deployment) == [(State.DISPATCHING, State.RUNNING)]


def test_dispatch_of_a_deployment_that_moved_on_does_nothing(deploy, committed, fake_provider, alice):
    deployment = deploy(alice, "staging", "v1")  # the simulated provider ran it to the end
    provider = fake_provider(dispatches=[Run("run-2")])

    with committed():
        tasks.dispatch(deployment.pk, 1)
        tasks.dispatch(deployment.pk, 2)

    assert provider.dispatched == []
    assert fresh(deployment) == [State.SUCCEEDED]


# check


def test_check_with_a_wrong_or_old_due_time_does_nothing(committed, fake_provider, alice):
    provider = fake_provider(dispatches=[Run("run-1", check_in=3600)], checks=[RunStatus("running", check_in=600)])
    deployment = dispatching(alice)
    with committed():
        tasks.dispatch(deployment.pk, 1)
    deployment.refresh_from_db()
    due = deployment.next_check_at

    with committed():
        tasks.check(deployment.pk, (due - timedelta(minutes=5)).isoformat())
        tasks.check(deployment.pk, (due + timedelta(seconds=1)).isoformat())

    assert provider.checked == []
    deployment.refresh_from_db()
    assert (deployment.state, deployment.next_check_at) == (State.RUNNING, due)
    assert Schedule.objects.filter(func=CHECK_TASK).count() == 1

    # The check holding the due time runs once and books the next one; replaying it does nothing.
    before = timezone.now()
    with committed():
        tasks.check(deployment.pk, due.isoformat())
        tasks.check(deployment.pk, due.isoformat())

    assert provider.checked == [deployment.pk]
    deployment.refresh_from_db()
    assert deployment.state == State.RUNNING
    assert before + timedelta(seconds=600) <= deployment.next_check_at <= timezone.now() + timedelta(seconds=600)
    schedules = Schedule.objects.filter(func=CHECK_TASK).order_by("id")
    assert [s.args for s in schedules] == [
        repr((deployment.pk, due.isoformat())),
        repr((deployment.pk, deployment.next_check_at.isoformat())),
    ]


def test_check_when_the_provider_is_unreachable_tries_again_in_30_seconds(committed, fake_provider, alice):
    provider = fake_provider(dispatches=[Run("run-1", check_in=3600)], checks=[ProviderError("connection reset")])
    deployment = dispatching(alice)
    with committed():
        tasks.dispatch(deployment.pk, 1)
    deployment.refresh_from_db()
    before = timezone.now()

    with committed():
        tasks.check(deployment.pk, deployment.next_check_at.isoformat())

    deployment.refresh_from_db()
    assert provider.checked == [deployment.pk]
    assert deployment.state == State.RUNNING
    assert before + timedelta(seconds=29) < deployment.next_check_at < timezone.now() + timedelta(seconds=31)
    assert Schedule.objects.filter(func=CHECK_TASK, args=repr((deployment.pk, deployment.next_check_at.isoformat())))


def test_check_when_the_provider_lost_the_run_fails_the_deploy(committed, fake_provider, alice):
    fake_provider(dispatches=[Run("run-1", check_in=3600)], checks=[ProviderError("run 1 not found", permanent=True)])
    deployment = dispatching(alice)
    with committed():
        tasks.dispatch(deployment.pk, 1)
    deployment.refresh_from_db()

    with committed():
        tasks.check(deployment.pk, deployment.next_check_at.isoformat())

    deployment.refresh_from_db()
    assert deployment.state == State.FAILED
    assert deployment.detail == "lost track of the run: run 1 not found"


def test_a_check_that_crashes_does_not_leave_the_deployment_running_unwatched(committed, fake_provider, alice):
    fake_provider(
        dispatches=[Run("run-1", check_in=3600)],
        checks=[KeyError("status"), RunStatus("succeeded")],  # e.g. a provider bug parsing an answer
    )
    deployment = dispatching(alice)
    with committed():
        tasks.dispatch(deployment.pk, 1)
    deployment.refresh_from_db()
    due = deployment.next_check_at.isoformat()

    with committed():
        tasks.check(deployment.pk, due)  # crashes inside; logged
    with committed():
        tasks.check(deployment.pk, due)  # the broker's redelivery of the same task: no longer its turn

    deployment.refresh_from_db()
    assert deployment.state == State.RUNNING
    rebooked = deployment.next_check_at
    assert rebooked is not None and rebooked > timezone.now()

    with committed():
        tasks.check(deployment.pk, rebooked.isoformat())  # the booked re-check

    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED


def test_a_worker_dying_mid_check_leaves_a_lease_that_sweep_picks_up(committed, fake_provider, alice):
    fake_provider(dispatches=[Run("run-1", check_in=3600)], checks=[RunStatus("succeeded")])
    deployment = dispatching(alice)
    with committed():
        tasks.dispatch(deployment.pk, 1)
    # The claim happened, then the worker vanished: the lease is all that is left.
    lease = timezone.now() - timedelta(seconds=engine.LOST_CHECK_AFTER + 5)
    Deployment.objects.filter(pk=deployment.pk).update(next_check_at=lease)

    with committed():
        tasks.sweep()

    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED


def test_a_worker_dying_mid_dispatch_gets_a_next_attempt_that_asks_the_provider_first(committed, fake_provider, alice):
    provider = fake_provider(dispatches=[Run("run-1", check_in=3600)])
    seen: list[int] = []
    provider.during_dispatch = lambda order: seen.append(order.attempt)
    deployment = dispatching(alice)
    assert engine.claim_dispatch(deployment.pk, 1) is not None  # the worker claimed attempt 1, then died
    with committed():
        tasks.sweep()  # its lease has not run out: nothing to do yet
    assert seen == []

    passed = timezone.now() - timedelta(seconds=1)
    Deployment.objects.filter(pk=deployment.pk).update(next_check_at=passed)
    with committed():
        tasks.sweep()

    deployment.refresh_from_db()
    assert seen == [2]  # the provider is told an earlier attempt may have reached it
    assert (deployment.state, deployment.provider_run_id, deployment.dispatch_attempts) == (State.RUNNING, "run-1", 2)


def test_a_dispatch_claim_lasts_twice_the_task_timeout(alice):
    deployment = dispatching(alice)
    before = timezone.now()

    engine.claim_dispatch(deployment.pk, 1)

    deployment.refresh_from_db()
    lease = (deployment.next_check_at - before).total_seconds()
    assert 2 * Conf.TIMEOUT - 1 <= lease <= 2 * Conf.TIMEOUT + 1


# announce


def test_announce_posts_each_transition_once_even_when_called_twice(deploy, committed, alice):
    deployment = deploy(alice, "staging", "v1")
    events = deployment.events.count()

    assert events == 4
    assert len(channel_texts()) == events
    assert not deployment.events.filter(announced_at=None).exists()

    with committed():
        tasks.announce(deployment.pk)
        tasks.announce(deployment.pk)

    assert len(channel_texts()) == events


def test_announce_posts_only_the_transitions_not_yet_announced(deploy, committed, alice):
    deployment = deploy(alice, "staging", "v1")
    DeploymentEvent.objects.filter(pk=deployment.events.last().pk).update(announced_at=None)

    with committed():
        tasks.announce(deployment.pk)
        tasks.announce(deployment.pk)

    texts = channel_texts()
    assert len(texts) == 5
    assert texts[-1] == texts[-2]  # the succeeded message, once more, and only once


# sweep


def test_sweep_starts_a_target_whose_queued_deployment_has_no_active_one(committed, alice):
    lost = Deployment.objects.create(
        target=target_of(), version="v1", requested_by=alice, state=State.QUEUED, queued_at=timezone.now()
    )

    with committed():
        tasks.sweep()

    lost.refresh_from_db()
    assert lost.state == State.SUCCEEDED
    assert path(lost) == [
        (State.QUEUED, State.DISPATCHING),
        (State.DISPATCHING, State.RUNNING),
        (State.RUNNING, State.SUCCEEDED),
    ]


def test_sweep_starts_what_a_lock_held_back_once_the_lock_has_run_out(deploy, committed, alice, bob):
    slow()
    running = deploy(alice, "staging", "v1")
    waiting = deploy(alice, "staging", "v2")
    lock = engine.lock(bob, running.target.service, running.target.environment, "until noon")
    with committed():
        engine.record_status(running.pk, RunStatus("succeeded"))
    assert fresh(waiting) == [State.QUEUED]
    Lock.objects.filter(pk=lock.pk).update(until=timezone.now() - timedelta(seconds=1))

    with committed():
        tasks.sweep()

    assert fresh(waiting) == [State.RUNNING]


def test_sweep_leaves_a_queue_behind_an_active_deployment_alone(deploy, committed, alice):
    slow()
    running = deploy(alice, "staging", "v1")
    waiting = deploy(alice, "staging", "v2")

    with committed():
        tasks.sweep()

    assert fresh(running, waiting) == [State.RUNNING, State.QUEUED]
    assert Deployment.objects.filter(state__in=ACTIVE_STATES).count() == 1


def test_sweep_re_enqueues_a_check_that_was_lost(deploy, committed, alice):
    slow(delay="1m")
    deployment = deploy(alice, "staging", "v1")
    assert deployment.state == State.RUNNING
    # Two minutes later: the scheduled check never ran (the worker died, Redis forgot it).
    Schedule.objects.all().delete()
    now = timezone.now()
    Deployment.objects.filter(pk=deployment.pk).update(
        started_at=now - timedelta(minutes=2), next_check_at=now - timedelta(seconds=engine.LOST_CHECK_AFTER + 10)
    )

    with committed():
        tasks.sweep()

    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED
    assert deployment.artifact == "registry.local/web-app:v1"


def test_sweep_does_not_duplicate_a_check_that_is_only_a_little_late(deploy, committed, fake_provider, alice):
    provider = fake_provider(dispatches=[Run("run-1", check_in=3600)], checks=[RunStatus("succeeded")])
    deployment = deploy(alice, "staging", "v1")
    due = timezone.now() - timedelta(seconds=engine.LOST_CHECK_AFTER - 30)
    Deployment.objects.filter(pk=deployment.pk).update(next_check_at=due)

    with committed():
        tasks.sweep()

    assert provider.checked == []
    deployment.refresh_from_db()
    assert (deployment.state, deployment.next_check_at) == (State.RUNNING, due)


def test_sweep_redispatches_a_deployment_whose_dispatch_task_was_lost(committed, fake_provider, alice):
    provider = fake_provider(dispatches=[Run("run-1", check_in=3600)])
    stalled = dispatching(alice)
    Deployment.objects.filter(pk=stalled.pk).update(
        started_at=timezone.now() - timedelta(seconds=engine.LOST_CHECK_AFTER + 10)
    )

    with committed():
        tasks.sweep()

    assert provider.dispatched == [stalled.pk]
    assert fresh(stalled) == [State.RUNNING]


def test_sweep_expires_stale_approvals_and_times_out_stuck_runs(deploy, committed, alice, settings):
    settings.CHATOPS_APPROVAL_TTL = 60
    waiting = deploy(alice, "prod", "v1")
    slow()
    stuck = deploy(alice, "staging", "v1")
    long_ago = timezone.now() - timedelta(hours=1)
    Deployment.objects.filter(pk__in=[waiting.pk, stuck.pk]).update(requested_at=long_ago, started_at=long_ago)

    with committed():
        tasks.sweep()

    assert fresh(waiting, stuck) == [State.EXPIRED, State.TIMED_OUT]


# Notifications


def test_an_approval_request_is_posted_to_the_target_channel_with_approve_and_reject_buttons(deploy, alice):
    deployment = deploy(alice, "prod", "v1")

    message = ConsoleMessage.objects.get()
    assert (message.channel, message.run, message.final) == ("ops", None, False)
    assert message.text.startswith(f"⏸ Deploy #{deployment.pk} of web-app v1 to prod is waiting for approval")
    assert "Requested by: alice" in message.text
    assert "Can approve: bob" in message.text
    assert f"[Approve: /approve {deployment.pk}]" in message.text
    assert f"[Reject: /reject {deployment.pk}]" in message.text


def test_every_transition_is_posted_to_the_target_channel_in_order(deploy, alice):
    deployment = deploy(alice, "staging", "v1")

    headline = f"Deploy #{deployment.pk} of web-app v1 to staging"
    assert [text.splitlines()[0] for text in channel_texts()] == [
        f"⏳ {headline} is queued (deploy of v1 requested)",
        f"🚀 {headline} is dispatching",
        f"🔄 {headline} is running",
        f"✅ {headline} succeeded",
    ]
    assert list(ConsoleMessage.objects.values_list("final", flat=True)) == [False, False, False, True]


def test_the_requesters_command_run_hears_every_later_transition_and_the_last_is_final(say):
    reply = say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    run = CommandRun.objects.get(pk=reply.run_id)
    assert run.deployment == deployment
    assert reply.text.startswith(f"⏳ Deploy #{deployment.pk} of web-app v1 to staging is queued")
    follow_ups = list(run.messages.order_by("id"))
    headline = f"Deploy #{deployment.pk} of web-app v1 to staging"
    assert [m.text.splitlines()[0] for m in follow_ups] == [
        f"🚀 {headline} is dispatching",
        f"🔄 {headline} is running",
        f"✅ {headline} succeeded",
    ]
    assert [m.final for m in follow_ups] == [False, False, True]
    assert len(channel_texts()) == 4  # the channel hears the queued step too


def test_the_requester_hears_who_approved_and_the_approver_hears_what_follows(say):
    asked = say("alice", "/deploy web-app prod v1")
    deployment = Deployment.objects.get()

    approved = say("bob", f"/approve {deployment.pk}")

    assert fresh(deployment) == [State.SUCCEEDED]
    assert approved.text.startswith(f"⏳ Deploy #{deployment.pk} of web-app v1 to prod is queued: approved by bob")
    to_alice = list(ConsoleMessage.objects.filter(run_id=asked.run_id).order_by("id"))
    to_bob = list(ConsoleMessage.objects.filter(run_id=approved.run_id).order_by("id"))
    assert to_alice[0].text.startswith(f"⏳ Deploy #{deployment.pk} of web-app v1 to prod is queued (approved by bob)")
    assert len(to_alice) == 4 and len(to_bob) == 3  # bob's own reply already said "queued"
    assert [m.final for m in to_alice] == [False, False, False, True]
    assert [m.final for m in to_bob] == [False, False, True]
    assert to_alice[-1].text == to_bob[-1].text


def test_the_requester_hears_a_rejection_with_its_reason_as_the_final_word(say):
    asked = say("alice", "/deploy web-app prod v1")
    deployment = Deployment.objects.get()

    say("bob", f"/reject {deployment.pk} not during the sale")

    to_alice = list(ConsoleMessage.objects.filter(run_id=asked.run_id))
    assert len(to_alice) == 1
    assert to_alice[0].final
    assert to_alice[0].text.startswith(
        f"🚫 Deploy #{deployment.pk} of web-app v1 to prod rejected: rejected by bob: not during the sale"
    )
