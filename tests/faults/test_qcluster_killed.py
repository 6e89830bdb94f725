"""`kill -9` of one of the two qclusters (and its workers) while deployments are dispatching and running.

Every deployment still ends exactly once, GitHub is asked for each run exactly once, and what the lost
workers held is taken up again by the sweep once the dispatch lease has run out.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.faults.conftest import ENDED, dispatches_per_deployment, finish_runs, github_targets, process_group_of, until
from tests.stubs.github_api import DISPATCHES

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

TARGETS = [("web-app", "dev"), ("web-app", "staging"), ("api", "dev"), ("api", "staging")]


def test_a_qcluster_killed_mid_burst_loses_no_deployment_and_doubles_no_run(stack, github):
    github_targets(stack, github)
    answered, released, lock = github._dispatch, threading.Event(), threading.Lock()
    holding: dict[int, int | None] = {}  # deployment id -> process group of the qcluster whose dispatch is held
    callers: dict[int, list[int | None]] = {}  # deployment id -> process groups that asked to dispatch it

    def held_dispatch(call):
        deployment_id, group = int(call.json()["inputs"]["deployment_id"]), process_group_of(call.client[1])
        answer = answered(call)  # GitHub has started the run...
        with lock:
            holding[deployment_id] = group
            callers.setdefault(deployment_id, []).append(group)
        released.wait(8)  # ...and answers once the test has killed a qcluster (well within the caller's timeout)
        with lock:
            holding.pop(deployment_id, None)
        return answer

    github.route("POST", DISPATCHES, held_dispatch)
    # Two deploys of each of four targets: up to four dispatching at once, the others queued behind them.
    stack.deploy(*(f"/deploy {service} {env} v{n}" for n in (1, 2) for service, env in TARGETS))
    ids = [row[0] for row in stack.rows("SELECT id FROM deploys_deployment ORDER BY id")]
    first = ids[:4]
    assert len(ids) == 8

    # Kill the qcluster of a worker inside a dispatch; the tasks it had taken from Redis go with it.
    groups = {cluster.pid: cluster for cluster in stack.clusters}
    until(lambda: set(holding.values()) & set(groups), what="a qcluster to be dispatching")
    with lock:
        victim = next(group for group in holding.values() if group in groups)
        orphans = [deployment_id for deployment_id, group in holding.items() if group == victim]
        stack.kill(groups[victim])
    released.set()

    def settled() -> bool:
        """The survivor recorded every dispatch GitHub answered it; the killed qcluster's stay claimed."""
        states = stack.states(first)
        with lock:
            # (A caller whose process was not found, killed while being looked up, is no known survivor.)
            answered_to_survivor = {d for d, asked in callers.items() if set(asked) - {victim, None}} - set(holding)
        return all(states[d] == "running" for d in answered_to_survivor & set(first)) and not holding

    try:
        until(settled, what="the surviving qcluster to record its dispatches")
    finally:
        print("victim", victim, "groups", list(groups), "callers", callers, "holding", holding)
        print(stack.rows("SELECT id, state, dispatch_attempts, next_check_at FROM deploys_deployment ORDER BY id"))
    assert {stack.states(orphans)[d] for d in orphans} == {"dispatching"}
    stack.start_cluster()  # the supervisor brings the killed qcluster back

    # The sweep's first run after the lease ran out (its period plus the lease later) takes up the lost work.
    stack.recover_lost_work()
    until(lambda: set(stack.states(first).values()) == {"running"}, what="the lost dispatches to be taken up")

    finished: set[int] = set()

    def all_ended() -> bool:
        finish_runs(stack, github, finished)
        return set(stack.states(ids).values()) <= set(ENDED)

    until(all_ended, 40, "every deployment to end")

    assert set(stack.states(ids).values()) == {"succeeded"}
    # Each deployment ended once, through one run of its own that GitHub was asked for once.
    endings = stack.rows(
        "SELECT deployment_id, count(*) FROM deploys_deploymentevent WHERE to_state = ANY(%s) GROUP BY 1",
        list(ENDED),
    )
    assert dict(endings) == dict.fromkeys(ids, 1)
    assert dispatches_per_deployment(github) == Counter({str(i): 1 for i in ids})
    assert len(github.runs) == 8
    rows = stack.rows("SELECT id, provider_run_id, dispatch_attempts FROM deploys_deployment ORDER BY id")
    assert len({run_id for _, run_id, _ in rows}) == 8
    # The killed qcluster's dispatches were taken up by a second attempt, which adopted the run it had started.
    attempts = {deployment_id: tries for deployment_id, _, tries in rows}
    assert orphans and all(attempts[d] == 2 for d in orphans)
    runs_by_deployment = {
        run["display_title"].rsplit("#", 1)[1].rstrip(")"): str(run_id) for run_id, run in github.runs.items()
    }
    assert {str(d): run_id for d, run_id, _ in rows} == runs_by_deployment
