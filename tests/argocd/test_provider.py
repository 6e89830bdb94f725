"""Deploys through Argo CD (integrations/argocd), against a real HTTP Argo CD stub, from chat to the channel."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from bots.models import CommandRun, ConsoleMessage
from chatops_site.deploys import engine, tasks
from chatops_site.deploys.models import Deployment, Kind, State
from integrations.argocd.provider import ArgoCDProvider
from tests.deploys.helpers import target_of
from tests.stubs.argocd import NOT_STARTED, commit

SYNCED = ("Succeeded", "Healthy")


def channel() -> list[str]:
    return list(ConsoleMessage.objects.filter(channel="deploys", run=None).values_list("text", flat=True))


# Sync


def test_an_argocd_target_syncs_the_app_to_the_version_and_succeeds_once_healthy(argocd, say):
    argocd.app("web-staging", steps=[("Running", "Progressing"), ("Succeeded", "Progressing"), SYNCED])

    say("alice", "/deploy web-app staging v1.4.0")

    deployment = Deployment.objects.get()
    assert deployment.state == State.SUCCEEDED
    (sync,) = argocd.calls_to(r"/api/v1/applications/web-staging/sync", method="POST")
    assert sync.json() == {"revision": "v1.4.0"}
    assert sync.header("Authorization") == "Bearer argocd-token"
    assert len(argocd.calls_to(r"/api/v1/applications/web-staging", method="GET")) == 3
    sha = commit("v1.4.0")
    assert deployment.provider_data == {
        "app": "web-staging",
        "revision": sha,
        "history_id": 0,
        "previous_operation": "2024-05-01T09:00:00Z",
    }
    assert deployment.detail == f"web-staging synced to {sha} and Healthy"
    assert deployment.artifact == f"registry.local/web-staging@{sha[:12]}"
    assert deployment.provider_run_url == f"{argocd.url}/applications/web-staging"
    assert channel()[-1].splitlines()[0] == f"✅ Deploy #{deployment.pk} of web-app v1.4.0 to staging succeeded"
    assert f"  Run: {argocd.url}/applications/web-staging" in channel()[-1]


def test_progressing_is_waited_on_until_healthy_and_the_old_operation_is_not_taken_for_ours(argocd, say, next_check):
    argocd.app("web-staging", steps=[NOT_STARTED, ("Running", "Progressing"), ("Succeeded", "Progressing"), SYNCED])

    say("alice", "/deploy web-app staging v2")
    deployment = Deployment.objects.get()
    assert deployment.state == State.RUNNING

    details = []
    while deployment.state == State.RUNNING:
        deployment = next_check(deployment)
        details.append(deployment.detail)

    assert deployment.state == State.SUCCEEDED
    assert details == [
        "waiting for the Argo CD sync of web-staging to start",  # it still showed the sync before ours
        "Argo CD sync of web-staging is Running",
        "web-staging synced; waiting for it to be Healthy (now Progressing)",
        f"web-staging synced to {commit('v2')} and Healthy",
    ]


def test_a_degraded_app_fails_the_deploy_and_the_channel_says_why(argocd, say):
    argocd.app(
        "web-staging",
        steps=[("Running", "Progressing"), ("Succeeded", "Degraded")],
        health_message="Deployment web exceeded its progress deadline",
    )

    say("alice", "/deploy web-app staging v3")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    reason = "web-staging synced but is Degraded: Deployment web exceeded its progress deadline"
    assert deployment.detail == reason
    assert channel()[-1].splitlines()[0] == f"❌ Deploy #{deployment.pk} of web-app v3 to staging failed: {reason}"
    # the requester hears it too
    run = CommandRun.objects.get()
    assert run.messages.last().text.splitlines()[0].endswith(f"failed: {reason}")


def test_a_failed_sync_fails_the_deploy_with_argo_cds_message(argocd, say):
    argocd.app("web-staging", steps=[("Running", "Progressing"), ("Failed", "Missing")])

    say("alice", "/deploy web-app staging v3")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert deployment.detail == "Argo CD sync of web-staging ended Failed: one or more tasks Failed"


def test_an_app_that_never_gets_healthy_times_out_at_the_targets_timeout(
    argocd, say, next_check, django_capture_on_commit_callbacks
):
    argocd.app("web-staging", steps=[("Running", "Progressing"), ("Succeeded", "Progressing")])
    say("alice", "/deploy web-app staging v4")
    deployment = next_check(next_check(Deployment.objects.get()))
    assert (deployment.state, deployment.detail) == (
        State.RUNNING,
        "web-staging synced; waiting for it to be Healthy (now Progressing)",
    )

    # Half an hour later (the target's timeout), the minute sweep ends it.
    Deployment.objects.filter(pk=deployment.pk).update(started_at=timezone.now() - timedelta(minutes=30, seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()

    deployment.refresh_from_db()
    assert deployment.state == State.TIMED_OUT
    assert channel()[-1].splitlines()[0] == (
        f"⌛ Deploy #{deployment.pk} of web-app v4 to staging timed out: still not finished after 30m"
    )


def test_an_unknown_app_or_a_refused_token_fails_the_deploy_at_once(argocd, say, settings):
    say("alice", "/deploy web-app staging v1")
    argocd.app("web-staging")
    settings.ARGOCD_TOKEN = "expired-token"
    say("alice", "/deploy web-app staging v1")

    unknown, refused = Deployment.objects.order_by("id")
    assert (unknown.state, refused.state) == (State.FAILED, State.FAILED)
    assert unknown.detail == (
        "could not start the deploy: Argo CD has no application web-staging that ARGOCD_TOKEN may use "
        "(403: permission denied)"
    )
    assert refused.detail == "could not start the deploy: Argo CD refused ARGOCD_TOKEN (401: invalid session)"
    assert len(argocd.calls_to(r".*/sync")) == 2  # no retries of what cannot mend
    assert "expired-token" not in " ".join(channel())


# Rollback


def test_rollback_re_applies_the_history_entry_of_the_last_good_version(argocd, say):
    argocd.app("web-staging")
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")

    reply = say("alice", "/rollback web-app staging")

    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert reply.text.startswith(f"⏳ Rollback #{rollback.pk} of web-app v1 to staging is queued")
    assert rollback.state == State.SUCCEEDED
    (call,) = argocd.calls_to(r"/api/v1/applications/web-staging/rollback", method="POST")
    assert call.json() == {"id": 0}  # v1's entry: history 0 is v1, 1 is v2
    assert rollback.provider_data["revision"] == commit("v1")
    assert rollback.provider_data["history_id"] == 0
    assert rollback.provider_run_id == "web-staging rollback to history 0"
    assert [e["revision"] for e in argocd.apps["web-staging"].history] == [commit("v1"), commit("v2"), commit("v1")]
    assert channel()[-1].splitlines()[0] == f"✅ Rollback #{rollback.pk} of web-app v1 to staging succeeded"


def test_rollback_is_refused_with_a_reason_while_automated_sync_is_on(argocd, say):
    app = argocd.app("web-staging")
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")
    app.automated = True

    say("alice", "/rollback web-app staging")

    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert rollback.state == State.FAILED
    reason = (
        "could not start the deploy: Argo CD does not roll back web-staging while automated sync is on "
        "(it would sync straight back): turn off automated sync in the application's sync policy, "
        "or revert the change in git"
    )
    assert rollback.detail == reason
    assert not argocd.calls_to(r".*/rollback")
    assert channel()[-1].splitlines()[0] == f"❌ Rollback #{rollback.pk} of web-app v1 to staging failed: {reason}"
    run = CommandRun.objects.filter(deployment=rollback).get()
    assert run.messages.last().text.splitlines()[0].endswith(f"failed: {reason}")


def test_rollback_to_a_version_argo_cd_no_longer_remembers_says_to_deploy_it(argocd, say):
    app = argocd.app("web-staging")
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")
    app.history = app.history[1:]  # revisionHistoryLimit dropped v1's entry

    say("alice", "/rollback web-app staging")

    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert rollback.state == State.FAILED
    assert rollback.detail == (
        "could not start the deploy: Argo CD's history of web-staging has no entry for v1 any more "
        "(it keeps the last revisionHistoryLimit syncs); deploy v1 instead"
    )


def test_a_target_without_an_app_says_how_to_name_one(argocd, say):
    target = target_of("web-app", "staging")
    target.settings = {}
    target.save()

    say("alice", "/deploy web-app staging v1")

    assert Deployment.objects.get().detail == (
        'could not start the deploy: web-app/staging names no Argo CD application: set {"app": "name"} in its settings'
    )
    assert not argocd.calls


# A second attempt after the first was lost with its worker


def test_a_second_dispatch_attempt_follows_the_sync_the_first_asked_for(argocd, alice):
    argocd.app("web-staging", steps=[NOT_STARTED, ("Running", "Progressing"), SYNCED])
    deployment = Deployment.objects.create(
        target=target_of("web-app", "staging"), version="v2", requested_by=alice, state=State.DISPATCHING
    )
    provider = ArgoCDProvider()
    provider.dispatch(engine.order(deployment))  # reached Argo CD; then the worker died
    deployment.dispatch_attempts = 2

    again = provider.dispatch(engine.order(deployment))

    assert len(argocd.calls_to(r"/api/v1/applications/web-staging/sync", method="POST")) == 1
    assert again.data["revision"] == "v2"
    deployment.provider_data = again.data
    statuses = [provider.check(engine.order(deployment)).state for _ in range(3)]
    assert statuses[-1] == "succeeded"


def test_a_second_attempt_syncs_when_argo_cd_carries_out_nothing_of_ours(argocd, alice):
    argocd.app("web-staging")
    deployment = Deployment.objects.create(
        target=target_of("web-app", "staging"), version="v2", requested_by=alice, state=State.DISPATCHING
    )
    deployment.dispatch_attempts = 2

    ArgoCDProvider().dispatch(engine.order(deployment))

    (sync,) = argocd.calls_to(r"/api/v1/applications/web-staging/sync", method="POST")
    assert sync.json() == {"revision": "v2"}


# The pinned commit

PINNED = "3f2a1c9" + "0" * 33


def test_a_pinned_deploy_syncs_the_commit_it_was_pinned_to_not_the_branch(argocd, alice):
    argocd.app("web-staging", steps=[NOT_STARTED, ("Running", "Progressing"), SYNCED])
    deployment = Deployment.objects.create(
        target=target_of("web-app", "staging"),
        version="main",
        commit_sha=PINNED,
        requested_by=alice,
        state=State.DISPATCHING,
    )
    provider = ArgoCDProvider()

    run = provider.dispatch(engine.order(deployment))
    deployment.dispatch_attempts = 2  # the worker died after the sync was asked for
    again = provider.dispatch(engine.order(deployment))

    (sync,) = argocd.calls_to(r"/api/v1/applications/web-staging/sync", method="POST")
    assert sync.json() == {"revision": PINNED}
    assert run.data["revision"] == again.data["revision"] == PINNED
    assert run.run_id == "web-staging sync to main"
    deployment.provider_data = again.data
    statuses = [provider.check(engine.order(deployment)) for _ in range(3)]
    assert statuses[-1].state == "succeeded"


def test_a_rollback_pinned_to_a_commit_re_applies_the_history_entry_of_that_commit(argocd, alice):
    argocd.app(
        "web-staging",
        history=[
            {"id": 4, "revision": PINNED, "deployedAt": "2024-05-01T08:00:00Z"},
            {"id": 5, "revision": commit("v2"), "deployedAt": "2024-05-01T09:00:00Z"},
        ],
    )
    rollback = Deployment.objects.create(
        target=target_of("web-app", "staging"),
        kind=Kind.ROLLBACK,
        version="v1",
        commit_sha=PINNED,
        requested_by=alice,
        state=State.DISPATCHING,
    )

    run = ArgoCDProvider().dispatch(engine.order(rollback))

    (call,) = argocd.calls_to(r"/api/v1/applications/web-staging/rollback", method="POST")
    assert call.json() == {"id": 4}  # no deployment here remembers v1's commit: the pinned one names it
    assert not argocd.calls_to(r".*/sync")
    assert (run.data["revision"], run.data["history_id"]) == (PINNED, 4)
