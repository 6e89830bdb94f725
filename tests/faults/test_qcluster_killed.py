"""`kill -9` of one of the two qclusters (and its workers) while deployments are dispatching and running.

Every deployment still ends exactly once, GitHub is asked for each run exactly once, and what the lost
workers held is taken up again by the sweep once the dispatch lease has run out.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.faults.conftest import Stack, until
from tests.github.conftest import workflow_run_payload
from tests.stubs.github_api import DISPATCHES, GitHubStub

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

TARGETS = [("web-app", "dev"), ("web-app", "staging"), ("api", "dev"), ("api", "staging")]
ENDED = ("succeeded", "failed", "timed_out", "cancelled", "expired", "rejected")


def github_targets(stack: Stack, github: GitHubStub, channel: str = "console:ops") -> None:
    """The demo catalog, its dev and staging targets deploying through acme's `deploy.yml` workflow."""
    for repository in ("acme/web-app", "acme/api", "acme/worker"):
        for version in ("v1", "v2"):
            github.tag(repository, version, github.head(repository))
    stack.shell(
        "from chatops_site.demo import seed_catalog; seed_catalog()\n"
        "from chatops_site.catalog.models import DeployTarget\n"
        "DeployTarget.objects.exclude(environment__name='prod').update(provider='github_actions', "
        f"settings={{'workflow': 'deploy.yml', 'ref': 'main'}}, channel={channel!r})\n"
    )


def dispatches_per_deployment(github: GitHubStub) -> Counter:
    return Counter(call.json()["inputs"]["deployment_id"] for call in github.calls_to(DISPATCHES))


def finish_runs(stack: Stack, github: GitHubStub, finished: set[int]) -> int:
    """Finish every run GitHub has that is not finished yet, telling ChatOps by webhook; how many."""
    fresh = [run for run_id, run in list(github.runs.items()) if run_id not in finished]
    for run in fresh:
        github.finish(run["id"], "success")
        stack.deliver("workflow_run", workflow_run_payload(run))
        finished.add(run["id"])
    return len(fresh)


def test_a_qcluster_killed_mid_burst_loses_no_deployment_and_doubles_no_run(stack, github):
    github_targets(stack, github)
    answered, released, in_flight, lock = github._dispatch, threading.Event(), Counter(), threading.Lock()

    def held_dispatch(call):
        answer = answered(call)  # GitHub has started the run...
        with lock:
            in_flight["now"] += 1
        released.wait(8)  # ...and answers once the test has killed a qcluster (within the client's timeout)
        with lock:
            in_flight["now"] -= 1
        return answer

    github.route("POST", DISPATCHES, held_dispatch)
    # Two deploys of each of four targets: four dispatching at once, four queued behind them.
    stack.deploy(*(f"/deploy {service} {env} v{n}" for n in (1, 2) for service, env in TARGETS))
    ids = [row[0] for row in stack.rows("SELECT id FROM deploys_deployment ORDER BY id")]
    assert len(ids) == 8
    # All four workers (two per qcluster) are inside a dispatch: each qcluster holds two.
    until(lambda: in_flight["now"] == 4, what="four dispatches in flight")

    victim = stack.clusters[0]
    stack.kill(victim)
    released.set()
    # The surviving qcluster's two dispatches are answered and recorded; the killed one's two are orphaned.
    first = ids[:4]
    until(lambda: Counter(stack.states(first).values()) == {"running": 2, "dispatching": 2}, what="the survivors")
    until(lambda: in_flight["now"] == 0, what="GitHub to answer every dispatch")
    stack.start_cluster()  # the supervisor brings the killed qcluster back

    # The sweep's next run after the lease (its period plus the lease later): the lost attempts are taken up.
    stack.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from chatops_site.deploys import engine\n"
        "engine.recover_lost_work(timezone.now() + timedelta(seconds=engine.DISPATCH_LEASE + 60))\n"
    )
    until(lambda: set(stack.states(first).values()) == {"running"}, what="the lost dispatches to be adopted")

    finished: set[int] = set()

    def all_ended() -> bool:
        finish_runs(stack, github, finished)
        return set(stack.states(ids).values()) <= set(ENDED)

    until(all_ended, 50, "every deployment to end")

    assert set(stack.states(ids).values()) == {"succeeded"}
    # Each deployment ended once, through one run of its own that GitHub was asked for once.
    endings = stack.rows(
        "SELECT deployment_id, count(*) FROM deploys_deploymentevent WHERE to_state = ANY(%s) GROUP BY 1",
        list(ENDED),
    )
    assert dict(endings) == dict.fromkeys(ids, 1)
    assert dispatches_per_deployment(github) == Counter({str(i): 1 for i in ids})
    assert len(github.runs) == 8
    runs = stack.rows("SELECT id, provider_run_id, dispatch_attempts FROM deploys_deployment ORDER BY id")
    assert len({run_id for _, run_id, _ in runs}) == 8
    # The killed qcluster's two were taken up again by a second attempt, which adopted their runs.
    assert sum(attempts > 1 for _, _, attempts in runs[:4]) >= 2
