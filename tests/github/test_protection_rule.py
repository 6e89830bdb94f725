"""The GitHub App as a custom deployment protection rule: a job deploying to an environment waits for our answer.

Deliveries are built as GitHub documents `deployment_protection_rule` (action `requested`), around the real
`deployment` of the octokit fixtures; the GitHub stub records each answer posted to the callback URL with an
installation token of the repository.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chatops_site.catalog.models import DeployTarget, Environment
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, Freeze, Source, State
from integrations.github.models import DeliveryOutcome, WebhookDelivery
from tests.github.conftest import fixture, said, workflow_run_payload
from tests.stubs import Answer

pytestmark = pytest.mark.usefixtures("catalog")

REPO = "acme/web-app"
GITHUB_DEPLOYMENT_IDS = itertools.count(1872940001)


@pytest.fixture
def job(github):
    """`job("prod")`: a workflow run of acme/web-app whose job deploys main's head to that environment."""

    def job(environment: str = "staging", sender: str = "octocat", repository: str = REPO, **deployment) -> dict:
        sha = github.head(REPO)
        run = github.add_run(REPO, "CI", event="push", status="waiting", head_sha=sha)
        base = fixture("deployment/with-installation.payload.json")
        github_deployment = {
            **copy.deepcopy(base["deployment"]),
            "id": next(GITHUB_DEPLOYMENT_IDS),
            "sha": sha,
            "ref": "main",
            "task": "deploy",
            "environment": environment,
            "original_environment": environment,
            **deployment,
        }
        owner, name = repository.split("/")
        payload = {
            "action": "requested",
            "environment": environment,
            "event": "push",
            "deployment_callback_url": (
                f"{github.url}/repos/{repository}/actions/runs/{run['id']}/deployment_protection_rule"
            ),
            "deployment": github_deployment,
            "pull_requests": [],
            "repository": {**base["repository"], "name": name, "full_name": repository},
            "installation": {"id": github.installations.get(repository, 7001), "node_id": "MDIzOkludGVncmF0aW9uMQ=="},
            "sender": {**base["sender"], "login": sender},
        }
        payload["repository"]["owner"] = {**base["repository"]["owner"], "login": owner}
        return {"payload": payload, "run": run, "sha": sha}

    return job


def recorded() -> Deployment:
    return Deployment.objects.get(source=Source.GITHUB)


def test_a_job_to_prod_during_a_freeze_is_rejected_naming_the_freeze(github, deliver, job):
    freeze = Freeze.objects.create(
        name="release-week",
        reason="Nothing ships while the release is cut",
        start=timezone.now() - timedelta(hours=1),
        end=timezone.now() + timedelta(days=2),
        time_zone="Europe/Berlin",
    )
    freeze.environments.add(Environment.objects.get(name="prod"))
    asked = job("prod")

    assert deliver("deployment_protection_rule", asked["payload"]).status_code == 200

    [answer] = github.reviews
    assert answer["repository"] == REPO and answer["run_id"] == asked["run"]["id"]
    assert (answer["environment_name"], answer["state"]) == ("prod", "rejected")
    assert "frozen by 'release-week': Nothing ships while the release is cut" in answer["comment"]
    assert "Europe/Berlin" in answer["comment"] and "UTC" in answer["comment"]  # when it ends
    [call] = github.calls_to(rf"/repos/{REPO}/actions/runs/\d+/deployment_protection_rule")
    assert github.tokens[call.header("authorization").removeprefix("Bearer ")].repositories == {REPO}
    deployment = recorded()
    assert deployment.state == State.REJECTED
    assert (deployment.started_by, deployment.commit_sha, deployment.version) == ("octocat", asked["sha"], "main")
    assert deployment.answered_at is not None
    assert deployment.provider_run_url == f"https://github.com/{REPO}/actions/runs/{asked['run']['id']}"


def test_a_job_to_staging_with_nothing_holding_is_approved_at_once(github, deliver, job):
    asked = job("staging")

    deliver("deployment_protection_rule", asked["payload"])

    deployment = recorded()
    assert deployment.state == State.RUNNING and deployment.started_at is not None
    [answer] = github.reviews
    assert (answer["environment_name"], answer["state"]) == ("staging", "approved")
    assert answer["comment"] == f"ChatOps #{deployment.pk}: nothing holds web-app/staging"
    running = said("ops")[-1]
    assert f"Deploy #{deployment.pk} of web-app main ({deployment.short_sha}) to staging is running" in running
    assert "Requested by: octocat on GitHub" in running and "Started from: GitHub Actions" in running


def test_a_job_to_prod_waits_for_a_chat_approval_and_the_answer_names_the_approver(github, deliver, job, say):
    asked = job("prod")

    deliver("deployment_protection_rule", asked["payload"])

    deployment = recorded()
    assert deployment.state == State.AWAITING_APPROVAL and github.reviews == []
    card = said("ops")[-1]
    assert f"Deploy #{deployment.pk} of web-app main ({deployment.short_sha}) to prod is waiting for approval" in card
    assert "Requested by: octocat on GitHub" in card

    answer = say("bob", f"/approve {deployment.pk} {deployment.short_sha}")

    assert "approved by bob" in answer.text
    [review] = github.reviews
    assert (review["environment_name"], review["state"]) == ("prod", "approved")
    assert review["comment"] == f"ChatOps #{deployment.pk}: approved by bob"
    deployment.refresh_from_db()
    assert deployment.state == State.RUNNING


def test_a_job_rejected_in_chat_is_rejected_on_github_with_the_reason(github, deliver, job, say):
    deliver("deployment_protection_rule", job("prod")["payload"])
    deployment = recorded()

    say("bob", f"/reject {deployment.pk} not during the demo")

    [review] = github.reviews
    assert review["state"] == "rejected"
    assert review["comment"] == f"ChatOps #{deployment.pk}: rejected by bob: not during the demo"
    deployment.refresh_from_db()
    assert deployment.state == State.REJECTED


def test_a_github_login_that_is_a_users_name_may_not_approve_its_own_job(github, deliver, job, say):
    deliver("deployment_protection_rule", job("prod", sender="bob")["payload"])
    deployment = recorded()

    answer = say("bob", f"/approve {deployment.pk}")

    assert answer.text == f"You started #{deployment.pk} on GitHub (bob); someone else must approve or reject it."
    assert github.reviews == []


def test_a_job_waits_for_the_deployment_active_on_its_target_and_is_answered_when_it_ends(
    github, deliver, job, alice, django_capture_on_commit_callbacks
):
    target = DeployTarget.objects.get(service__name="web-app", environment__name="staging")
    active = Deployment.objects.create(
        target=target, version="v0", requested_by=alice, state=State.RUNNING, started_at=timezone.now()
    )

    deliver("deployment_protection_rule", job("staging")["payload"])

    deployment = recorded()
    assert deployment.state == State.QUEUED and github.reviews == []
    assert f"is queued; waiting behind #{active.pk}" in said("ops")[-1]

    with django_capture_on_commit_callbacks(execute=True):
        engine.fail(active.pk, "the old deploy broke")

    deployment.refresh_from_db()
    assert deployment.state == State.RUNNING
    [review] = github.reviews
    assert review["state"] == "approved"


def test_the_same_request_twice_is_answered_once(github, deliver, job):
    asked = job("staging")
    guid = str(uuid.uuid4())

    deliver("deployment_protection_rule", asked["payload"], delivery=guid)
    redelivered = deliver("deployment_protection_rule", asked["payload"], delivery=guid)
    deliver("deployment_protection_rule", asked["payload"])  # the same GitHub deployment under a new GUID

    assert redelivered.json()["duplicate"] is True
    assert len(github.reviews) == 1
    assert Deployment.objects.filter(source=Source.GITHUB).count() == 1
    last = WebhookDelivery.objects.filter(event="deployment_protection_rule").order_by("id").last()
    assert last is not None and last.outcome == DeliveryOutcome.IGNORED
    assert last.note.startswith(f"#{recorded().pk} already answers for GitHub deployment")


def test_the_runs_completion_finishes_the_deployment(github, deliver, job):
    asked = job("staging")
    deliver("deployment_protection_rule", asked["payload"])
    run = github.finish(asked["run"]["id"], "success", artifacts=["web-app-image"])

    response = deliver("workflow_run", workflow_run_payload(run))

    assert response.status_code == 200
    deployment = recorded()
    assert deployment.state == State.SUCCEEDED
    assert deployment.artifact == "web-app-image"
    assert f"Deploy #{deployment.pk} of web-app main ({deployment.short_sha}) to staging succeeded" in said("ops")[-1]
    assert len(github.reviews) == 1  # the answer was given once, when it started


def test_a_failed_run_fails_the_deployment(github, deliver, job):
    asked = job("staging")
    deliver("deployment_protection_rule", asked["payload"])

    deliver("workflow_run", workflow_run_payload(github.finish(asked["run"]["id"], "failure")))

    assert recorded().state == State.FAILED


def test_the_jobs_deployment_status_finishes_it_without_other_news(github, deliver, job):
    asked = job("staging")
    deliver("deployment_protection_rule", asked["payload"])
    status = copy.deepcopy(fixture("deployment_status/with-installation.payload.json"))
    status["deployment"]["id"] = asked["payload"]["deployment"]["id"]
    status["deployment_status"]["state"] = "success"
    status["repository"]["full_name"] = REPO

    deliver("deployment_status", status)

    deployment = recorded()
    assert deployment.state == State.SUCCEEDED
    # Finished as ours, rather than passed on to the `deploy` routes as news of someone else's deploy.
    assert WebhookDelivery.objects.get(event="deployment_status").note == f"#{deployment.pk}: succeeded"


@pytest.mark.parametrize(
    ("environment", "repository", "why"),
    [
        ("qa", REPO, "ChatOps has no environment named 'qa' (it knows: dev, staging, prod)."),
        ("prod", "acme/unknown", "acme/unknown is not the repository of any service in the ChatOps catalog."),
    ],
)
def test_what_the_catalog_does_not_know_is_rejected_saying_so(github, deliver, job, environment, repository, why):
    github.installations[repository] = 7001

    deliver("deployment_protection_rule", job(environment, repository=repository)["payload"])

    [review] = github.reviews
    assert (review["environment_name"], review["state"], review["comment"]) == (
        environment,
        "rejected",
        f"ChatOps: {why}",
    )
    assert not Deployment.objects.exists()


def test_a_callback_elsewhere_than_github_gets_nothing(github, deliver, job):
    asked = job("staging")
    asked["payload"]["deployment_callback_url"] = "https://attacker.example/repos/acme/web-app/actions/runs/1/x"

    deliver("deployment_protection_rule", asked["payload"])

    assert github.reviews == [] and not Deployment.objects.exists()
    delivery = WebhookDelivery.objects.get(event="deployment_protection_rule")
    assert delivery.outcome == DeliveryOutcome.IGNORED


def test_an_answer_github_cannot_take_now_is_given_again_later(github, deliver, job, monkeypatch):
    monkeypatch.setattr("integrations.http.sleep", lambda seconds: None)
    monkeypatch.setattr("chatops_site.deploys.tasks.time.sleep", lambda seconds: None)
    failures = iter([True])

    def flaky(call):
        if next(failures, False):
            return Answer(502, {"message": "Server Error"})
        return github._review(call)

    github.route("POST", r"/repos/(?P<repo>acme/web-app)/actions/runs/(?P<id>\d+)/deployment_protection_rule", flaky)

    deliver("deployment_protection_rule", job("staging")["payload"])

    assert len(github.calls_to(rf"/repos/{REPO}/actions/runs/\d+/deployment_protection_rule")) == 2
    assert [review["state"] for review in github.reviews] == ["approved"]
    assert recorded().answered_at is not None
