"""The gate for deploys started elsewhere (Jenkins, GitLab, scripts): `POST /api/v1/gates/` asks, `finish` ends.

A pipeline step asks with its token whether it may deploy now, under the rules chat obeys; yes is a running
deployment in the history, the dashboard and /status, which the step ends when its deploy has.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bots.models import ConsoleMessage
from chatops_site.catalog.models import DeployTarget, Environment
from chatops_site.deploys.models import Deployment, Freeze, Lock, Source, State

COMMIT = "3f2a9c1d5e7b9a0c1d2e3f4a5b6c7d8e9f0a1b2c"
BUILD = "https://jenkins.example.com/job/deploy-web/42/"


def gate(api, who: str = "alice", environment: str = "staging", version: str = "v2", **extra):
    body = {"service": "web-app", "environment": environment, "version": version, **extra}
    return api(who).post("/api/v1/gates/", body, format="json")


def finish(api, deployment_id: int, result: str = "succeeded", who: str = "alice", **extra):
    return api(who).post(f"/api/v1/deployments/{deployment_id}/finish/", {"result": result, **extra}, format="json")


def target(environment: str = "staging") -> DeployTarget:
    return DeployTarget.objects.get(service__name="web-app", environment__name=environment)


def channel() -> list[str]:
    """What the targets' channel heard, oldest first."""
    return list(ConsoleMessage.objects.filter(channel="ops").values_list("text", flat=True))


def status_of(say, service: str = "web-app") -> str:
    reply = say("carol", f"/status {service}")
    return ConsoleMessage.objects.get(run_id=reply.run_id, final=True).text


def test_an_allowed_deploy_is_running_and_shows_everywhere_chat_deploys_show(api, say, alice):
    response = gate(api, commit=COMMIT, url=BUILD)

    assert response.status_code == 200
    answer = response.json()
    assert answer == {"allowed": True, "deployment": answer["deployment"]}
    deployment = Deployment.objects.get(pk=answer["deployment"])
    assert (deployment.state, deployment.source, deployment.requested_by) == (State.RUNNING, Source.API, alice)
    assert (deployment.version, deployment.commit_sha, deployment.provider_run_url) == ("v2", COMMIT, BUILD)
    assert deployment.started_at is not None
    listed = api("carol").get("/api/v1/deployments/", {"service": "web-app"}).json()["results"]
    assert [(d["id"], d["state"], d["source"], d["requested_by"]) for d in listed] == [
        (deployment.pk, "running", "api", "alice")
    ]
    assert f"#{deployment.pk} web-app v2 -> staging  running, by alice (CI)" in say("carol", "/history web-app").text
    assert f"#{deployment.pk} v2 running" in status_of(say)
    assert f"Deploy #{deployment.pk} of web-app v2 (3f2a9c1) to staging is running" in channel()[-1]
    assert "Started from: CI, through the gate API" in channel()[-1]
    page = Client()
    page.force_login(alice)
    assert f"#{deployment.pk}" in page.get("/deployments/").text
    assert "CI, through the gate API" in page.get(f"/deployments/{deployment.pk}/").text


def test_finish_ends_it_and_then_it_runs_there(api, say):
    deployment_id = gate(api, url=BUILD).json()["deployment"]

    response = finish(api, deployment_id, url=BUILD + "console")

    assert response.status_code == 200
    answer = response.json()
    assert (answer["state"], answer["provider_run_url"]) == ("succeeded", BUILD + "console")
    assert answer["transitions"][-1]["actor"] == "alice"
    assert answer["duration_seconds"] is not None
    assert f"v2  (#{deployment_id} by alice" in status_of(say)
    assert gate(api, version="v3").status_code == 200  # the target is free again


def test_a_failed_deploy_is_reported_as_failed(api):
    deployment_id = gate(api).json()["deployment"]

    assert finish(api, deployment_id, "failed").json()["state"] == "failed"


def test_finishing_twice_is_a_conflict(api):
    deployment_id = gate(api).json()["deployment"]
    finish(api, deployment_id)

    response = finish(api, deployment_id, "failed")

    assert response.status_code == 409
    assert response.json()["detail"] == f"#{deployment_id} is succeeded, not running: nothing to finish."


def test_a_deployment_chatops_runs_is_not_finished_by_hand(api, alice):
    deployment = Deployment.objects.create(
        target=target(), version="v1", requested_by=alice, state=State.RUNNING, started_at=timezone.now()
    )

    response = finish(api, deployment.pk)

    assert response.status_code == 409
    assert "is run by ChatOps through Simulated (offline demo)" in response.json()["detail"]


def test_only_its_requester_or_a_deployer_finishes_it(api):
    deployment_id = gate(api).json()["deployment"]

    assert finish(api, deployment_id, who="carol").status_code == 403
    assert finish(api, deployment_id, who="mallory").status_code == 404  # may not even see it
    assert finish(api, deployment_id, who="bob").status_code == 200  # bob may deploy staging


def refused(response) -> str:
    assert response.status_code == 409, response.json()
    answer = response.json()
    assert answer["allowed"] is False and answer["detail"] == answer["reason"]
    return answer["reason"]


def test_a_step_is_refused_during_a_freeze_naming_it(api):
    freeze = Freeze.objects.create(
        name="year-end",
        reason="Holidays",
        start=timezone.now() - timedelta(hours=1),
        end=timezone.now() + timedelta(days=9),
    )
    freeze.environments.add(Environment.objects.get(name="prod"))

    reason = refused(gate(api, environment="prod"))

    assert reason.startswith("web-app/prod is frozen by 'year-end': Holidays. It ends ")
    assert not Deployment.objects.exists()


def test_a_step_is_refused_while_the_target_is_locked(api, bob):
    Lock.objects.create(target=target(), locked_by=bob, reason="database migration")

    assert "web-app/staging is locked by bob" in refused(gate(api))


def test_a_step_without_the_deploy_grant_is_refused(api):
    assert (
        refused(gate(api, who="carol"))
        == "carol may not deploy web-app in staging: ask an admin for the 'deploy' grant."
    )


def test_a_step_is_refused_while_another_deployment_is_active(api):
    first = gate(api).json()["deployment"]

    reason = refused(gate(api, version="v3"))

    assert reason == f"web-app/staging is busy: #{first} (v2, by alice) is running. Ask again when it ends."


def test_approval_is_asked_for_then_the_same_step_passes_once_bob_approves(api, say):
    asked = gate(api, environment="prod", commit=COMMIT, url=BUILD)

    reason = refused(asked)
    waiting = Deployment.objects.get(pk=asked.json()["deployment"])
    assert waiting.state == State.AWAITING_APPROVAL and waiting.source == Source.API
    assert reason == (
        f"prod requires approval: asked for as #{waiting.pk}; bob may approve it (/approve {waiting.pk} in chat, "
        "or on the dashboard). Ask again once it is approved."
    )
    assert f"Deploy #{waiting.pk} of web-app v2 (3f2a9c1) to prod is waiting for approval" in channel()[-1]
    assert refused(gate(api, environment="prod", commit=COMMIT)).startswith(f"#{waiting.pk} still waits for approval")

    say("bob", f"/approve {waiting.pk} 3f2a9c1")
    waiting.refresh_from_db()
    assert waiting.state == State.QUEUED  # approved; its pipeline starts it

    response = gate(api, environment="prod", commit=COMMIT)
    assert response.json() == {"allowed": True, "deployment": waiting.pk}
    waiting.refresh_from_db()
    assert (waiting.state, waiting.provider_run_url) == (State.RUNNING, BUILD)
    assert Deployment.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "$(id)"}, "version"),
        ({"commit": "not-a-sha"}, "commit"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"environment": "qa"}, "environment"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(api, body, field):
    response = gate(api, **body)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Deployment.objects.exists()


def test_without_a_token_the_gate_is_closed(api):
    assert gate(api, who=None).status_code == 401
