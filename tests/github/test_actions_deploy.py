"""A `/deploy` of a GitHub Actions target, from the chat command to the channel's last message.

The workflow is dispatched on the GitHub stub with an installation token, the deployment finds its
run, and the run's end arrives by `workflow_run` webhook or, when none comes, by polling.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, State
from integrations.providers import Run
from tests.github.conftest import said, workflow_run_payload

pytestmark = pytest.mark.usefixtures("actions_target")


def test_deploy_dispatches_the_workflow_with_an_installation_token(github, say):
    say("alice", "/deploy web-app staging v1.4.0")

    deployment = Deployment.objects.get()
    [dispatch] = github.calls_to(r"/repos/acme/web-app/actions/workflows/deploy\.yml/dispatches")
    token = dispatch.header("authorization").removeprefix("Bearer ")
    assert github.tokens[token].repositories == {"acme/web-app"}
    assert dispatch.json() == {
        "ref": "main",
        "inputs": {
            "service": "web-app",
            "environment": "staging",
            "version": "v1.4.0",
            "deployment_id": str(deployment.pk),
            "sha": github.head("acme/web-app"),  # the commit v1.4.0 was pinned to when it was asked for
        },
        "return_run_details": True,
    }
    [run] = github.runs.values()
    assert deployment.state == State.RUNNING
    assert deployment.provider_run_id == str(run["id"])
    assert deployment.provider_run_url == run["html_url"]


def test_workflow_run_webhook_finishes_the_deploy_and_tells_the_channel(github, say, deliver):
    say("alice", "/deploy web-app staging v1.4.0")
    [run] = github.runs.values()
    github.finish(run["id"], "success", artifacts=["web-app-image-v1.4.0"])

    assert deliver("workflow_run", workflow_run_payload(run)).status_code == 200

    deployment = Deployment.objects.get()
    assert deployment.state == State.SUCCEEDED
    assert deployment.artifact == "web-app-image-v1.4.0"
    assert deployment.provider_data["head_sha"] == run["head_sha"]
    last = said("ops")[-1]
    assert f"Deploy #{deployment.pk} of web-app v1.4.0 ({deployment.short_sha}) to staging succeeded" in last
    assert "Duration:" in last
    assert f"Run: {run['html_url']}" in last
    assert f"Commit: {run['head_sha'][:12]}" in last
    assert f"https://github.com/acme/web-app/commit/{run['head_sha']}" in last
    assert "Artifact: web-app-image-v1.4.0" in last


def test_failed_run_fails_the_deploy(github, say, deliver):
    say("alice", "/deploy web-app staging v1.4.0")
    [run] = github.runs.values()
    github.finish(run["id"], "timed_out")

    deliver("workflow_run", workflow_run_payload(run))

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert f"Deploy #{deployment.pk} of web-app v1.4.0 ({deployment.short_sha}) to staging failed" in said("ops")[-1]
    assert "ended timed out" in said("ops")[-1]


def test_without_a_webhook_polling_finishes_the_deploy(github, say, run_scheduled_checks):
    say("alice", "/deploy web-app staging v1.4.0")
    [run] = github.runs.values()

    run_scheduled_checks()
    assert Deployment.objects.get().state == State.RUNNING

    github.finish(run["id"], "failure")
    run_scheduled_checks()

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert deployment.detail.endswith("ended failure")
    assert f"Deploy #{deployment.pk} of web-app v1.4.0 ({deployment.short_sha}) to staging failed" in said("ops")[-1]


def test_a_webhook_after_polling_finished_changes_nothing(github, say, deliver, run_scheduled_checks):
    say("alice", "/deploy web-app staging v1.4.0")
    [run] = github.runs.values()
    github.finish(run["id"], "success")
    run_scheduled_checks()
    told = len(said("ops"))

    response = deliver("workflow_run", workflow_run_payload(run))

    assert response.status_code == 200
    assert Deployment.objects.get().state == State.SUCCEEDED
    assert len(said("ops")) == told


def test_a_missing_workflow_fails_the_deploy_with_githubs_message(github, say):
    github.workflows = {}

    say("alice", "/deploy web-app staging v1.4.0")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert "GitHub: Not Found (404 on POST /repos/acme/web-app/actions/workflows/deploy.yml/dispatches)" in (
        deployment.detail
    )
    assert "could not start the deploy: GitHub: Not Found" in said("ops")[-1]


def test_several_deploys_in_flight_each_end_with_their_own_run(github, say, deliver, actions_target):
    api = DeployTarget.objects.get(service__name="api", environment__name="staging")
    api.provider, api.settings = actions_target.provider, actions_target.settings
    api.save()
    say("alice", "/deploy web-app staging v1.4.0")
    say("alice", "/deploy api staging v7")
    web_run, api_run = github.runs.values()
    github.finish(web_run["id"], "success")
    github.finish(api_run["id"], "failure")

    deliver("workflow_run", workflow_run_payload(api_run))
    deliver("workflow_run", workflow_run_payload(web_run))

    states = dict(Deployment.objects.values_list("target__service__name", "state"))
    assert states == {"web-app": State.SUCCEEDED, "api": State.FAILED}


def test_webhooks_find_a_run_the_dispatch_could_not_name(
    github, deliver, actions_target, alice, django_capture_on_commit_callbacks
):
    """GitHub Enterprise answers the dispatch with 204; the run's first webhook names it."""
    deployment = Deployment.objects.create(
        target=actions_target, version="v3", state=State.DISPATCHING, requested_by=alice, started_at=timezone.now()
    )
    data = {"repository": "acme/web-app", "workflow": "deploy.yml", "dispatched_at": timezone.now().isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        engine.record_dispatch(deployment.pk, Run("", check_in=60, data=data))
    someone_elses = github.add_run("acme/web-app", f"Deploy web-app v3 to staging (#{deployment.pk}0)")
    ours = github.add_run("acme/web-app", f"Deploy web-app v3 to staging (#{deployment.pk})", status="in_progress")

    deliver("workflow_run", workflow_run_payload(someone_elses, "requested"))
    deliver("workflow_run", workflow_run_payload(ours, "in_progress"))
    deployment.refresh_from_db()
    assert (deployment.state, deployment.provider_run_id) == (State.RUNNING, str(ours["id"]))
    assert deployment.provider_run_url == ours["html_url"]

    deliver("workflow_run", workflow_run_payload(github.finish(ours["id"], "success")))
    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED
