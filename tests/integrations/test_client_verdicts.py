"""What each provider client tells the door about its own system: the few answers it reads differently."""

from __future__ import annotations

import time

import pytest

from integrations.github import api
from tests.stubs import Answer, StubServer


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr("integrations.http.sleep", waited.append)
    return waited


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
