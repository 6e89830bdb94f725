"""What each provider client tells the door about its own system: the few answers it reads differently."""

from __future__ import annotations

import time

import pytest

from integrations.argocd.client import ArgoCDClient
from integrations.github import api
from integrations.jenkins.client import JenkinsClient
from integrations.providers import ProviderError
from tests.stubs import Answer, StubServer


@pytest.fixture
def github(settings):
    with StubServer() as stub:
        settings.GITHUB_API_URL = stub.url
        yield stub


def exhausted(reset_in: float, **headers: str) -> Answer:
    reset = str(int(time.time() + reset_in))
    limit = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset, **headers}
    return Answer(403, {"message": "API rate limit exceeded for installation ID 1."}, limit)


# GitHub


def test_githubs_403_with_no_requests_left_is_a_rate_limit_until_the_reset(github, waits):
    github.route("POST", r"/dispatches", lambda call: exhausted(reset_in=600))

    with pytest.raises(api.GitHubError) as limited:
        api.request("POST", "/dispatches", "Bearer t", json={})

    error = limited.value
    assert (error.status, error.permanent, error.system) == (403, False, "github")
    assert 590 < error.retry_after <= 600
    assert str(error) == "GitHub: API rate limit exceeded for installation ID 1. (403 on POST /dispatches)"
    assert len(github.calls) == 1


def test_githubs_short_retry_after_on_a_403_rate_limit_is_waited_out(github, waits):
    given = [exhausted(reset_in=600, **{"Retry-After": "3"}), Answer(204)]
    github.route("POST", r"/dispatches", lambda call: given.pop(0))

    assert api.request("POST", "/dispatches", "Bearer t", json={}).status_code == 204
    assert waits == [3.0]


def test_githubs_other_403s_are_permanent(github, waits):
    github.route("GET", r"/repos/acme/web", lambda call: Answer(403, {"message": "Resource not accessible"}))

    with pytest.raises(api.GitHubError) as refused:
        api.request("GET", "/repos/acme/web", "Bearer t")

    assert (refused.value.status, refused.value.permanent, refused.value.retry_after) == (403, True, None)


def test_a_github_read_that_meets_a_server_error_is_asked_again(github, waits):
    given = [Answer(502, "Bad Gateway"), {"id": 1}]
    github.route("GET", r"/runs/1", lambda call: given.pop(0))

    assert api.request("GET", "/runs/1", "Bearer t").json() == {"id": 1}
    assert waits == [0.5]


# Jenkins


@pytest.fixture
def jenkins(settings):
    with StubServer() as stub:
        settings.JENKINS_URL, settings.JENKINS_USER, settings.JENKINS_API_TOKEN = stub.url, "", ""
        yield stub


def test_a_jenkins_job_without_parameters_is_a_permanent_error_that_says_what_to_add(jenkins, waits):
    trace = "<html>java.lang.IllegalStateException: deploy-web is not parameterized</html>"
    jenkins.route("POST", r"/job/deploy-web/buildWithParameters", lambda call: Answer(500, trace))

    with pytest.raises(ProviderError) as refused:
        JenkinsClient().trigger("deploy-web", {"VERSION": "v1"})

    assert refused.value.permanent
    assert str(refused.value).startswith("the trigger of deploy-web failed: the job takes no parameters")
    assert len(jenkins.calls) == 1


def test_other_jenkins_server_errors_on_a_trigger_are_transient_and_not_retried(jenkins, waits):
    jenkins.route("POST", r"/job/deploy-web/buildWithParameters", lambda call: Answer(503, "<html>down</html>"))

    with pytest.raises(ProviderError, match=r"^Jenkins answered 503 to the trigger of deploy-web$") as failed:
        JenkinsClient().trigger("deploy-web", {"VERSION": "v1"})

    assert not failed.value.permanent
    assert len(jenkins.calls) == 1


def test_a_jenkins_read_is_asked_again_after_a_server_error(jenkins, waits):
    given = [Answer(502, "<html>proxy</html>"), {"number": 1, "building": True}]
    jenkins.route("GET", r"/job/deploy-web/1/api/json", lambda call: given.pop(0))

    assert JenkinsClient().read(jenkins.url + "/job/deploy-web/1/", "a build") == {"number": 1, "building": True}
    assert waits == [0.5]


# Argo CD


@pytest.fixture
def argocd(settings):
    with StubServer() as stub:
        settings.ARGOCD_URL, settings.ARGOCD_TOKEN = stub.url, "argocd-token"
        yield stub


SYNC = r"/api/v1/applications/web-staging/sync"


def test_an_argo_cd_sync_refused_while_another_operation_runs_is_transient_and_left_to_the_task(argocd, waits):
    busy = "another operation is already in progress"
    argocd.route("POST", SYNC, lambda call: Answer(400, {"error": busy, "code": 9, "message": busy}))

    with pytest.raises(ProviderError) as failed:
        ArgoCDClient().sync("web-staging", "v2")

    assert not failed.value.permanent
    assert str(failed.value) == f"Argo CD refused a sync of web-staging to v2 (400: {busy})"
    assert len(argocd.calls) == 1


def test_other_argo_cd_400s_are_permanent(argocd, waits):
    reason = "cannot sync to v2: auto-sync is enabled"
    argocd.route("POST", SYNC, lambda call: Answer(400, {"error": reason, "code": 9, "message": reason}))

    with pytest.raises(ProviderError) as refused:
        ArgoCDClient().sync("web-staging", "v2")

    assert (refused.value.permanent, refused.value.status, refused.value.system) == (True, 400, "argocd")


def test_argo_cds_403_means_no_such_app_or_not_allowed(argocd, waits):
    argocd.route("GET", r"/api/v1/applications/web-staging", lambda call: Answer(403, {"message": "permission denied"}))

    with pytest.raises(ProviderError) as refused:
        ArgoCDClient().app("web-staging")

    assert refused.value.permanent
    assert str(refused.value) == (
        "Argo CD has no application web-staging that ARGOCD_TOKEN may use (403: permission denied)"
    )
    assert len(argocd.calls) == 1


def test_an_argo_cd_read_is_asked_again_after_a_server_error(argocd, waits):
    given = [Answer(503, {"message": "upstream connect error"}), {"metadata": {"name": "web-staging"}}]
    argocd.route("GET", r"/api/v1/applications/web-staging", lambda call: given.pop(0))

    assert ArgoCDClient().app("web-staging") == {"metadata": {"name": "web-staging"}}
    assert waits == [0.5]
