"""Deploys through Jenkins (integrations/jenkins), against a real HTTP Jenkins stub, from chat to the channel."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from bots.models import ConsoleMessage
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, Kind, State
from integrations.jenkins.client import JenkinsClient
from integrations.jenkins.provider import JenkinsProvider
from tests.deploys.helpers import path, target_of


def channel() -> list[str]:
    return list(ConsoleMessage.objects.filter(channel="deploys", run=None).values_list("text", flat=True))


def within(due, before, seconds: float) -> bool:
    """`due` is `seconds` after a moment between `before` and now."""
    return before + timedelta(seconds=seconds) <= due <= timezone.now() + timedelta(seconds=seconds)


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


# Deploys that run to the end


def test_a_jenkins_target_deploys_through_the_job_to_succeeded(jenkins, say):
    jenkins.job("deploy-web", waits=2, runs=2)

    say("alice", "/deploy web-app staging v1.4.0")

    deployment = Deployment.objects.get()
    assert deployment.state == State.SUCCEEDED
    (trigger,) = jenkins.triggers()
    assert trigger.path == "/job/deploy-web/buildWithParameters"
    assert parse_qs(trigger.body.decode(), keep_blank_values=True) == {
        "SERVICE": ["web-app"],
        "ENV": ["staging"],
        "VERSION": ["v1.4.0"],
        "COMMIT": [""],  # not pinned: web-app's repository is not one this test can read
        "DEPLOYMENT_ID": [str(deployment.pk)],
    }
    assert trigger.header("Authorization") == basic("deployer", "jenkins-api-token")
    assert not jenkins.calls_to(r"/crumbIssuer/.*")  # an API token needs no crumb
    assert len(jenkins.calls_to(r"/queue/item/101/api/json")) == 3  # two while waiting, one naming the build
    assert len(jenkins.calls_to(r"/job/deploy-web/1/api/json")) == 3  # two while building, one with the result
    console = f"{jenkins.url}/job/deploy-web/1/console"
    assert deployment.provider_run_id == "deploy-web #1"  # "deploy-web queue item 101" until the build began
    assert deployment.events.get(to_state=State.RUNNING).message == "run deploy-web queue item 101 started"
    assert deployment.provider_run_url == console
    assert deployment.detail == "Jenkins build deploy-web #1 succeeded"
    assert deployment.provider_data["build_url"] == f"{jenkins.url}/job/deploy-web/1/"
    assert channel()[-1].splitlines()[0] == f"✅ Deploy #{deployment.pk} of web-app v1.4.0 to staging succeeded"
    assert f"  Run: {console}" in channel()[-1]


def test_a_303_answer_is_followed_through_its_location_header_not_as_a_redirect(jenkins, say):
    jenkins.job("deploy-web")
    jenkins.trigger_status = 303  # newer cores, when the request was merged into a queued item

    say("alice", "/deploy web-app staging v1")

    assert Deployment.objects.get().state == State.SUCCEEDED
    assert not jenkins.calls_to(r"/queue/item/101/", method="GET")  # requests did not follow the 303
    assert jenkins.calls_to(r"/queue/item/101/api/json")


def test_a_job_in_a_folder_is_called_by_its_full_name(jenkins, say):
    target = target_of("web-app", "staging")
    target.settings = {"job": "platform/deploy-api"}
    target.save()
    jenkins.job("platform/deploy-api")

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.SUCCEEDED
    assert [c.path for c in jenkins.triggers()] == ["/job/platform/job/deploy-api/buildWithParameters"]
    assert deployment.provider_run_url == f"{jenkins.url}/job/platform/job/deploy-api/1/console"


def test_a_queue_item_that_waits_is_polled_every_two_seconds_then_the_build_every_five(jenkins, say, next_check):
    jenkins.job("deploy-web", waits=1, runs=1)

    before = timezone.now()
    say("alice", "/deploy web-app staging v1")
    deployment = Deployment.objects.get()
    assert deployment.state == State.RUNNING
    assert deployment.provider_run_url == f"{jenkins.url}/job/deploy-web/"  # no build yet: the job page
    assert within(deployment.next_check_at, before, seconds=2)

    before = timezone.now()
    deployment = next_check(deployment)
    assert (deployment.state, deployment.detail) == (State.RUNNING, "Jenkins: Waiting for next available executor")
    assert within(deployment.next_check_at, before, seconds=2)

    before = timezone.now()
    deployment = next_check(deployment)
    assert (deployment.state, deployment.detail) == (State.RUNNING, "Jenkins build deploy-web #1 is running")
    assert deployment.provider_run_url == f"{jenkins.url}/job/deploy-web/1/console"
    assert within(deployment.next_check_at, before, seconds=5)

    deployment = next_check(deployment)
    assert deployment.state == State.SUCCEEDED


def test_a_queue_item_jenkins_already_forgot_is_found_among_the_jobs_builds(jenkins, say):
    jenkins.job("deploy-web", forgotten=True)

    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")

    first, second = Deployment.objects.order_by("id")
    assert (first.state, second.state) == (State.SUCCEEDED, State.SUCCEEDED)
    assert second.provider_run_url == f"{jenkins.url}/job/deploy-web/2/console"


# Deploys that fail, with the reason in the channel


def test_a_failing_build_fails_the_deploy_and_the_channel_says_why(jenkins, say):
    jenkins.job("deploy-web", runs=1, result="FAILURE")

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert deployment.detail == "Jenkins build deploy-web #1 failed"
    last = channel()[-1]
    assert last.splitlines()[0] == (
        f"❌ Deploy #{deployment.pk} of web-app v1 to staging failed: Jenkins build deploy-web #1 failed"
    )
    assert f"  Run: {jenkins.url}/job/deploy-web/1/console" in last


def test_an_aborted_or_unstable_build_fails_the_deploy(jenkins, say):
    jenkins.job("deploy-web", result="ABORTED")
    say("alice", "/deploy web-app staging v1")
    jenkins.job("deploy-web", result="UNSTABLE")
    say("alice", "/deploy web-app staging v2")

    aborted, unstable = Deployment.objects.order_by("id")
    assert (aborted.state, aborted.detail) == (State.FAILED, "Jenkins build deploy-web #1 was aborted")
    assert unstable.state == State.FAILED
    assert unstable.detail.startswith("Jenkins build deploy-web #1 is unstable")


def test_a_cancelled_queue_item_fails_the_deploy(jenkins, say):
    jenkins.job("deploy-web", waits=1, cancelled=True)

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    reason = "the Jenkins queue item of deploy-web was cancelled before a build started"
    assert deployment.detail == reason
    assert channel()[-1].splitlines()[0].endswith(f"failed: {reason}")
    assert not jenkins.calls_to(r"/job/deploy-web/\d+/api/json")


def test_a_missing_job_fails_the_deploy_at_once_without_retrying(jenkins, say):
    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    reason = f"could not start the deploy: Jenkins has no job deploy-web (nothing at {jenkins.url}/job/deploy-web/)"
    assert deployment.detail == reason
    assert len(jenkins.triggers()) == 1
    assert channel()[-1].splitlines()[0].endswith(f"failed: {reason}")


def test_a_target_without_a_job_says_how_to_name_one(jenkins, say):
    target = target_of("web-app", "staging")
    target.settings = {}
    target.save()

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.detail == (
        'could not start the deploy: web-app/staging names no Jenkins job: set {"job": "folder/name"} in its settings'
    )
    assert not jenkins.calls


def test_a_refused_token_fails_the_deploy_with_a_hint_and_no_secret(jenkins, say, settings):
    jenkins.job("deploy-web")
    settings.JENKINS_API_TOKEN = "wrong-token"

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert deployment.detail.startswith("could not start the deploy: Jenkins refused the trigger of deploy-web (401)")
    assert "wrong-token" not in " ".join(channel())


# A password instead of an API token


def test_with_a_password_the_trigger_carries_a_crumb_and_its_session_cookie(jenkins, say, settings):
    jenkins.job("deploy-web")
    settings.JENKINS_API_TOKEN = jenkins.password

    say("alice", "/deploy web-app staging v1")

    assert Deployment.objects.get().state == State.SUCCEEDED
    refused, accepted = jenkins.triggers()
    assert not refused.header("Jenkins-Crumb")
    (issued,) = jenkins.crumbs.items()
    assert accepted.header("Jenkins-Crumb") == issued[1]
    assert f"JSESSIONID.stub={issued[0]}" in accepted.header("Cookie")


# Rollback


def test_rollback_on_jenkins_builds_the_same_job_with_the_last_good_version(jenkins, say):
    jenkins.job("deploy-web")
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")

    say("alice", "/rollback web-app staging")

    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert (rollback.state, rollback.version) == (State.SUCCEEDED, "v1")
    assert [c.form()["VERSION"] for c in jenkins.triggers()] == ["v1", "v2", "v1"]
    assert jenkins.triggers()[-1].form()["DEPLOYMENT_ID"] == str(rollback.pk)
    assert path(rollback)[-1] == (State.RUNNING, State.SUCCEEDED)
    assert channel()[-1].splitlines()[0] == f"✅ Rollback #{rollback.pk} of web-app v1 to staging succeeded"


# A second attempt after the first was lost with its worker


@pytest.mark.parametrize("started", [False, True], ids=["still-queued", "building"])
def test_a_second_dispatch_attempt_adopts_what_the_first_started_instead_of_building_twice(jenkins, alice, started):
    jenkins.job("deploy-web", waits=5)
    deployment = Deployment.objects.create(
        target=target_of("web-app", "staging"), version="v1", requested_by=alice, state=State.DISPATCHING
    )
    provider = JenkinsProvider()
    first = provider.dispatch(engine.order(deployment))  # reached Jenkins; then the worker died
    if started:
        for _ in range(6):
            JenkinsClient().read(first.data["queue_url"], "the item")

    deployment.dispatch_attempts = 2
    second = provider.dispatch(engine.order(deployment))

    assert len(jenkins.triggers()) == 1
    if started:
        assert second.data["build_url"] == f"{jenkins.url}/job/deploy-web/1/"
    else:
        assert second.data["queue_url"] == first.data["queue_url"]


def test_a_second_attempt_triggers_when_jenkins_never_saw_the_first(jenkins, alice):
    jenkins.job("deploy-web")
    deployment = Deployment.objects.create(
        target=target_of("web-app", "staging"), version="v1", requested_by=alice, state=State.DISPATCHING
    )
    deployment.dispatch_attempts = 2

    JenkinsProvider().dispatch(engine.order(deployment))

    assert len(jenkins.triggers()) == 1


# The pinned commit


def test_the_job_is_given_the_commit_the_deployment_was_pinned_to_beside_the_version(jenkins, alice):
    jenkins.job("deploy-web")
    sha = "3f2a1c9" + "0" * 33
    deployment = Deployment.objects.create(
        target=target_of("web-app", "staging"),
        version="main",
        commit_sha=sha,
        requested_by=alice,
        state=State.DISPATCHING,
    )

    JenkinsProvider().dispatch(engine.order(deployment))

    (trigger,) = jenkins.triggers()
    assert trigger.form() == {
        "SERVICE": "web-app",
        "ENV": "staging",
        "VERSION": "main",
        "COMMIT": sha,
        "DEPLOYMENT_ID": str(deployment.pk),
    }
