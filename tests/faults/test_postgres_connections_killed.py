"""Every PostgreSQL connection of the stack killed, a few times, during a burst of Slack slash commands.

Only the stack's own database's backends are terminated (`pg_terminate_backend`): the server is shared
with other tests and is never restarted. Slack gets a message it shows for every command, normally or
"the database is not answering", never an error page; no command is half-written (a deploy that said ok
has its deployment, and each deployment one requesting command); and once the kills stop the stack serves
again by itself and every deployment ends.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest
import requests

from tests.faults.conftest import ENDED, acknowledged, simulated_targets, slash, until
from tests.stubs.slack_api import TEAM

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

TARGETS = [("web-app", "dev"), ("web-app", "staging"), ("api", "dev"), ("api", "staging")]
KILL = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"


def test_postgres_connections_killed_mid_burst_half_write_nothing(stack, github, slack):
    simulated_targets(stack, github, delay="1s")
    slack.route("POST", rf"/commands/{TEAM}/(?P<name>\d+)/[\w-]+", slack._response)
    database = stack.db.rsplit("/", 1)[1]
    answers: list[tuple[str, requests.Response]] = []
    failures: list[str] = []
    lock, stop = threading.Lock(), threading.Event()

    def sender(worker: int) -> None:
        for n in itertools.count():
            if stop.is_set():
                return
            service, env = TARGETS[(worker + n) % len(TARGETS)]
            command, text = ("/deploy", f"{service} {env} v{n % 3 + 1}") if n % 2 == 0 else ("/status", service)
            try:
                answer = slash(stack, slack, command, text)
            except requests.RequestException as error:
                with lock:
                    failures.append(f"{command} {text}: {error!r}")
                continue
            with lock:
                answers.append((f"{command} {text}", answer))

    senders = [threading.Thread(target=sender, args=(w,), daemon=True) for w in range(4)]
    for thread in senders:
        thread.start()
    killed = 0
    try:
        time.sleep(0.5)
        for _ in range(4):
            killed += len(stack.rows(KILL, database))
            time.sleep(0.7)
    finally:
        stop.set()
        for thread in senders:
            thread.join(60)
    print(
        f"killed {killed} backends; {len(answers)} answers:",
        sorted({(a.status_code, a.text[:120]) for _, a in answers}),
    )
    assert killed > 0 and len(answers) >= 8
    assert not failures, failures
    # Slack shows every answer, the engine's "the database is not answering" too: none is an error page.
    unclear = [(what, a.status_code, a.text[:500]) for what, a in answers if not acknowledged(a)]
    assert not unclear, unclear

    # Back by itself: the first command after the kills succeeds, as one that never saw them would.
    def served() -> requests.Response | None:
        answer = slash(stack, slack, "/deploy", "web-app dev v3")
        return answer if answer.status_code == 200 and acknowledged(answer) else None

    start = time.monotonic()
    until(served, 10, "a command to succeed after the kills")
    print(f"served again {time.monotonic() - start:.2f}s after the last kill")

    # No half-written command.
    deploys = stack.rows(
        "SELECT r.id, r.deployment_id, d.id FROM bots_commandrun r LEFT JOIN deploys_deployment d "
        "ON d.id = r.deployment_id WHERE r.command = 'deploy' AND r.outcome = 'ok'"
    )
    assert deploys and all(deployment_id is not None and found is not None for _, deployment_id, found in deploys), [
        row for row in deploys if row[1] is None or row[2] is None
    ]
    requesters = stack.rows(
        "SELECT d.id, count(r.id) FROM deploys_deployment d LEFT JOIN bots_commandrun r ON r.deployment_id = d.id "
        "GROUP BY d.id"
    )
    assert requesters and all(count == 1 for _, count in requesters), [row for row in requesters if row[1] != 1]

    ids = [deployment_id for deployment_id, _ in requesters]
    start = time.monotonic()

    def ended() -> bool:
        # The minute sweep, as it runs once a lost task's lease is over (here on demand, a while ahead):
        # tasks whose worker lost its connection mid-way (a pin, a dispatch) are booked again.
        stack.recover_lost_work()
        return set(stack.states(ids).values()) <= set(ENDED)

    try:
        until(ended, 120, "every deployment to end")
    finally:
        print(stack.rows("SELECT id, state, pinning, dispatch_attempts FROM deploys_deployment ORDER BY id"))
    print(f"{len(ids)} deployments ended {time.monotonic() - start:.1f}s after the kills stopped")
    assert set(stack.states(ids).values()) == {"succeeded"}, stack.states(ids)
