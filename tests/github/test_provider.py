"""GitHubActionsProvider against the stub: dispatch, finding its own run among others, polling, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, State
from integrations.github.api import GitHubError
from integrations.github.provider import GitHubActionsProvider
from integrations.http import OutsideSession
from integrations.providers import ProviderError
from tests.stubs import Answer
from tests.stubs.github_api import DISPATCHES


class AsTheTasksCall:
    """The provider, handed each deployment's order as it stands, as the deploy tasks hand it."""

    def dispatch(self, deployment: Deployment):
        return GitHubActionsProvider().dispatch(engine.order(deployment))

    def check(self, deployment: Deployment):
        return GitHubActionsProvider().check(engine.order(deployment))


provider = AsTheTasksCall()


@pytest.fixture
def deployment(actions_target, alice):
    """A deployment as the dispatch task finds it; its id is the one its run will show."""
    return Deployment.objects.create(
        target=actions_target, version="v2.0.0", state=State.DISPATCHING, requested_by=alice, started_at=timezone.now()
    )


def following(deployment: Deployment, run) -> Deployment:
    """The deployment as record_dispatch leaves it, for `check`."""
    deployment.provider_run_id = run.run_id
    deployment.provider_data = run.data
    deployment.state = State.RUNNING
    return deployment


def test_the_run_comes_from_the_dispatch_answer(github, deployment):
    run = provider.dispatch(deployment)

    [created] = github.runs.values()
    assert run.run_id == str(created["id"])
    assert run.url == created["html_url"]
    assert run.data["workflow_run_id"] == created["id"]
    assert github.calls_to(r".*/runs", "GET") == []  # nothing to search for


def test_without_run_details_the_run_is_found_by_the_id_in_its_name_among_runs_in_flight(github, deployment):
    github.run_details = False
    pk = deployment.pk
    # Other runs of the same workflow: deployments whose ids start alike, a push, another workflow.
    github.add_run("acme/web-app", f"Deploy web-app v1.9 to staging (#{pk}1)")
    github.add_run("acme/web-app", f"Deploy web-app v1.9 to prod (#1{pk})")
    github.add_run("acme/web-app", f"Merge pull request #{pk} from acme/fix", event="push")
    github.add_run("acme/web-app", f"Lint (#{pk})", path=".github/workflows/lint.yml")

    run = provider.dispatch(deployment)

    mine = [r for r in github.runs.values() if r["display_title"].endswith(f"to staging (#{pk})")]
    assert [run.run_id] == [str(r["id"]) for r in mine]
    assert run.data["workflow_run_id"] == mine[0]["id"]
    [search] = github.calls_to(r"/repos/acme/web-app/actions/workflows/deploy\.yml/runs")
    assert search.query["event"] == ["workflow_dispatch"]


def test_a_run_github_has_not_listed_yet_is_looked_for_until_found(github, deployment):
    github.run_details = False
    github.hidden_lists = 2

    run = provider.dispatch(deployment)
    assert run.run_id == ""
    assert run.check_in <= 5

    assert provider.check(following(deployment, run)).detail == "waiting for GitHub to list the workflow run"
    status = provider.check(deployment)
    [created] = github.runs.values()
    assert status.state == "running"
    assert status.run_id == str(created["id"])
    assert status.url == created["html_url"]


def test_check_follows_the_run_to_its_conclusion(github, deployment):
    run = provider.dispatch(deployment)
    following(deployment, run)
    assert provider.check(deployment).state == "running"

    github.finish(int(run.run_id), "success", artifacts=["site-bundle"])
    status = provider.check(deployment)

    assert status.state == "succeeded"
    assert status.artifact == "site-bundle"
    assert status.data["head_sha"] == github.runs[int(run.run_id)]["head_sha"]


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out", "startup_failure", "neutral", None])
def test_anything_but_success_is_a_failure(github, deployment, conclusion):
    run = provider.dispatch(deployment)
    github.finish(int(run.run_id), conclusion)

    status = provider.check(following(deployment, run))

    assert status.state == "failed"


def test_inputs_the_workflow_refuses_are_a_permanent_error_with_githubs_message(github, deployment):
    github.route("POST", DISPATCHES, lambda call: Answer(422, {"message": "Required input 'region' not provided"}))

    with pytest.raises(ProviderError) as refused:
        provider.dispatch(deployment)

    assert refused.value.permanent
    assert "GitHub: Required input 'region' not provided (422 on POST" in str(refused.value)


def test_a_server_that_does_not_know_return_run_details_is_asked_without_it(github, deployment):
    github.run_details = False
    bodies = []

    def older_server(call):
        bodies.append(call.json())
        if "return_run_details" in call.json():
            return Answer(422, {"message": "Invalid request. 'return_run_details' is not a permitted key."})
        return github._dispatch(call)

    github.route("POST", DISPATCHES, older_server)

    run = provider.dispatch(deployment)

    assert [("return_run_details" in body) for body in bodies] == [True, False]
    assert run.run_id == str(next(iter(github.runs)))


@pytest.mark.parametrize("answer", [Answer(502, "Bad Gateway"), Answer(503, {"message": "Service unavailable"})])
def test_server_errors_are_retried(github, deployment, answer):
    github.route("POST", DISPATCHES, lambda call: answer)

    with pytest.raises(ProviderError) as failed:
        provider.dispatch(deployment)

    assert not failed.value.permanent


def test_a_timeout_is_retried(github, deployment, monkeypatch):
    monkeypatch.setattr("integrations.github.api.session", lambda system: OutsideSession(system, timeout=0.2))
    github.delay = 1

    with pytest.raises(GitHubError) as failed:
        provider.dispatch(deployment)

    assert not failed.value.permanent
    assert "did not answer" in str(failed.value)


def test_a_target_without_a_workflow_is_refused(github, deployment):
    deployment.target.settings = {}

    with pytest.raises(ProviderError, match="needs a GitHub repository") as refused:
        provider.dispatch(deployment)
    assert refused.value.permanent


def test_runs_started_long_before_the_dispatch_are_not_searched(github, deployment):
    """An earlier database's deployment with the same id does not count."""
    old = github.add_run("acme/web-app", f"Deploy web-app v0 to staging (#{deployment.pk})")
    old["created_at"] = (timezone.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    github.route("POST", DISPATCHES, lambda call: Answer(204))  # ours is not created yet

    run = provider.dispatch(deployment)

    assert run.run_id == ""


def test_once_dispatched_a_failing_search_leaves_the_run_to_check(github, deployment):
    github.run_details = False
    github.route("GET", r".*/runs", lambda call: Answer(502, "Bad Gateway"))

    run = provider.dispatch(deployment)

    assert run.run_id == ""
    assert len(github.calls_to(DISPATCHES)) == 1


def test_a_retried_dispatch_adopts_the_run_an_earlier_attempt_started(github, deployment):
    github.run_details = False
    provider.dispatch(deployment)  # reached GitHub, but the task died before recording it
    deployment.dispatch_attempts = 2

    run = provider.dispatch(deployment)

    [started] = github.runs.values()
    assert run.run_id == str(started["id"])
    assert len(github.calls_to(DISPATCHES)) == 1
