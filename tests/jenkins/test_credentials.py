"""Jenkins' credentials go to JENKINS_URL's origin only, whatever URLs Jenkins' answers name."""

from __future__ import annotations

import pytest
from django.db import connection

from chatops_site.deploys.models import Deployment, State
from tests.deploys.helpers import target_of
from tests.stubs import Answer, StubServer


@pytest.fixture
def elsewhere():
    """Another server, on another origin, that records whatever reaches it."""
    with StubServer() as stub:
        yield stub


def refusal(jenkins, elsewhere, what: str) -> str:
    other = elsewhere.url.removeprefix("http://")
    return (
        f"Jenkins named {other} for {what}, but its credentials go only to JENKINS_URL ({jenkins.url}): refused "
        "(set JENKINS_URL to the root URL Jenkins is configured with)"
    )


def test_a_queue_item_on_another_origin_fails_the_deploy_and_is_never_called(jenkins, elsewhere, say):
    jenkins.job("deploy-web")
    jenkins.route(
        "POST",
        r"/job/deploy-web/buildWithParameters",
        lambda call: Answer(201, "", {"Location": f"{elsewhere.url}/queue/item/101/"}),
    )

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert deployment.detail == "could not start the deploy: " + refusal(
        jenkins, elsewhere, "the queue item of deploy-web"
    )
    assert elsewhere.calls == []


def test_a_build_on_another_origin_fails_the_deploy_and_is_never_called(jenkins, elsewhere, say):
    jenkins.job("deploy-web")
    executable = {"number": 1, "url": f"{elsewhere.url}/job/deploy-web/1/"}
    jenkins.route("GET", r"/queue/item/\d+/api/json", lambda call: {"id": 101, "executable": executable})

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert deployment.detail == "lost track of the run: " + refusal(
        jenkins, elsewhere, "a read of a build of deploy-web"
    )
    assert elsewhere.calls == []


def test_a_redirect_to_another_origin_is_followed_without_the_credentials(jenkins, elsewhere, say):
    jenkins.job("deploy-web")
    jenkins.route(
        "GET", r"/queue/item/\d+/api/json", lambda call: Answer(302, "", {"Location": f"{elsewhere.url}/steal"})
    )

    say("alice", "/deploy web-app staging v1")

    assert elsewhere.calls and all(call.header("Authorization") == "" for call in elsewhere.calls)
    assert jenkins.triggers()[0].header("Authorization").startswith("Basic ")


NO_NUL_IN_POSTGRESQL = pytest.mark.skipif(
    connection.vendor == "postgresql", reason="PostgreSQL stores no NUL character, so no such row exists there"
)


@pytest.mark.parametrize(
    "job",
    [
        "../../script",
        "deploy-web/../../manage",
        "./deploy-web",
        pytest.param("deploy\x00web", marks=NO_NUL_IN_POSTGRESQL),
    ],
)
def test_a_job_name_that_climbs_out_of_its_place_is_refused_before_jenkins_is_called(jenkins, say, job):
    target = target_of("web-app", "staging")
    target.settings = {"job": job}  # saved around the checks, as a row from before them would be
    target.save()

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert deployment.detail.startswith(f"could not start the deploy: web-app/staging: job {job!r} is not a Jenkins")
    assert jenkins.calls == []
