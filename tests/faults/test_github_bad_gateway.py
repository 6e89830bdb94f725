"""GitHub answers 502 to workflow dispatches for a while: the dispatch is asked again (2 s, then 4 s later).

A short outage ends in one run, started once; one that outlasts the three attempts fails the deploy with
a message that says what happened.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.conftest import Stack, dispatches_per_deployment, finish_runs, github_targets, until
from tests.stubs import Answer
from tests.stubs.github_api import DISPATCHES, GitHubStub

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

BAD_GATEWAY = Answer(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"})


def bad_gateway_for(github: GitHubStub, seconds: float) -> list[float]:
    """Dispatches answer 502 for `seconds` from the first one; when each 502 was given."""
    answered, given, lock = github._dispatch, [], threading.Lock()

    def dispatch(call):
        with lock:
            now = time.monotonic()
            if not given or now < given[0] + seconds:
                given.append(now)
                return BAD_GATEWAY
        return answered(call)

    github.route("POST", DISPATCHES, dispatch)
    return given


def deployment(stack: Stack) -> tuple:
    [row] = stack.rows("SELECT id, state, dispatch_attempts, provider_run_id, detail FROM deploys_deployment")
    return row


def channel(stack: Stack) -> list[str]:
    return [text for (text,) in stack.rows("SELECT text FROM bots_consolemessage WHERE channel = 'ops' ORDER BY id")]


def test_a_short_bad_gateway_ends_in_one_run_started_once(stack, github):
    github_targets(stack, github)
    refused = bad_gateway_for(github, 3)
    stack.deploy("/deploy web-app staging v1")

    until(lambda: deployment(stack)[1] == "running", what="the deploy to run")
    deployment_id, _, attempts, run_id, _ = deployment(stack)
    [run] = github.runs.values()
    assert len(refused) == 2  # at once and 2 s later; the third try, 4 s after that, got through
    assert (attempts, run_id) == (3, str(run["id"]))
    assert dispatches_per_deployment(github) == {str(deployment_id): 3}

    finish_runs(stack, github, set())
    until(lambda: deployment(stack)[1] == "succeeded", what="the deploy to succeed")
    assert len(github.runs) == 1
    until(lambda: any(f"#{deployment_id} " in text and "succeeded" in text for text in channel(stack)), 20)


def test_a_long_bad_gateway_fails_the_deploy_with_a_readable_message(stack, github):
    github_targets(stack, github)
    refused = bad_gateway_for(github, 60)
    stack.deploy("/deploy web-app staging v1")

    until(lambda: deployment(stack)[1] == "failed", what="the deploy to fail")
    deployment_id, _, attempts, run_id, detail = deployment(stack)
    assert (len(refused), attempts, run_id, github.runs) == (3, 3, "", {})
    assert detail.startswith("could not start the deploy after 3 attempts: GitHub: Bad Gateway (502 on "), detail
    said = until(lambda: [t for t in channel(stack) if f"#{deployment_id} " in t and "failed" in t], 20)
    assert "could not start the deploy after 3 attempts" in said[-1]


def test_a_bad_gateway_after_github_started_the_run_adopts_that_run(stack, github):
    """The 502 came from a proxy after GitHub had started the run: the next attempt follows it, starts none."""
    github_targets(stack, github)
    answered, lost = github._dispatch, []

    def started_then_lost(call):
        answer = answered(call)
        if not lost:
            lost.append(answer)
            return BAD_GATEWAY
        return answer

    github.route("POST", DISPATCHES, started_then_lost)
    stack.deploy("/deploy web-app staging v1")

    until(lambda: deployment(stack)[1] == "running", what="the deploy to run")
    deployment_id, _, attempts, run_id, _ = deployment(stack)
    [run] = github.runs.values()
    assert (attempts, run_id) == (2, str(run["id"]))
    assert dispatches_per_deployment(github) == {str(deployment_id): 1}
