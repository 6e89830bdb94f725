"""PostgreSQL stopped hard (`pg_ctl stop -m immediate`) and started again, mid-burst and while the stack is quiet.

The stack runs on a PostgreSQL server of this test's own (own_postgres.py): the suite's is shared and never
goes down. While the server is down Slack gets an answer it can show, never an error page; no command is
half-written (an answer names its finished audit row, a deploy that said ok its deployment, and each
deployment has one requesting command); once the server is back the stack serves again by itself within
seconds, and every deployment ends once. A restart while the stack is quiet leaves every connection it
keeps dead: none may cost a command or a task, which the sweep would only take up again minutes later.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests

from tests.faults import conftest as faults
from tests.faults.conftest import ENDED, Stack, acknowledged, simulated_targets, until
from tests.faults.own_postgres import PostgresServer, own_postgres  # noqa: F401
from tests.faults.test_postgres_connections_killed import TARGETS
from tests.stubs.slack_api import TEAM, SlackApi

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

# How the engine's answer reads while the database cannot be reached (bots/command_engine.py).
UNREACHABLE = "database is not answering"
_triggers = itertools.count(1)


@pytest.fixture
def postgres_url(own_postgres: PostgresServer) -> str:  # noqa: F811
    return own_postgres.url


@dataclass
class Answer:
    trigger: str  # Slack's trigger_id: the audit row's request_id
    command: str
    sent: float
    answered: float
    response: requests.Response

    @property
    def shown(self) -> str:
        """The text Slack shows; for anything but an acknowledged answer it shows an error of its own."""
        if not (acknowledged(self.response) and self.response.content):
            return ""
        return self.response.json().get("text", "")

    @property
    def outage(self) -> bool:
        return UNREACHABLE in self.shown


def slash(stack: Stack, slack: SlackApi, command: str, text: str) -> Answer:
    """A slash command under a trigger id that names its audit row, and when it was sent and answered."""
    trigger, sent = f"restart-{next(_triggers)}", time.monotonic()
    response = faults.slash(stack, slack, command, text, trigger)
    return Answer(trigger, f"{command} {text}", sent, time.monotonic(), response)


class Burst:
    """Four senders typing /deploy and /status, each as soon as its last command is answered, until stopped."""

    def __init__(self, stack: Stack, slack: SlackApi) -> None:
        self.stack, self.slack = stack, slack
        self.answers: list[Answer] = []
        self.failures: list[str] = []
        self.lock, self.stopped = threading.Lock(), threading.Event()
        self.senders = [threading.Thread(target=self.send, args=(w,), daemon=True) for w in range(4)]

    def __enter__(self) -> Burst:
        for sender in self.senders:
            sender.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        for sender in self.senders:
            sender.join(60)

    def send(self, worker: int) -> None:
        for n in itertools.count():
            if self.stopped.is_set():
                return
            service, env = TARGETS[(worker + n) % len(TARGETS)]
            command, text = ("/deploy", f"{service} {env} v{n % 3 + 1}") if n % 2 == 0 else ("/status", service)
            try:
                answer = slash(self.stack, self.slack, command, text)
            except requests.RequestException as error:
                with self.lock:
                    self.failures.append(f"{command} {text}: {error!r}")
                continue
            with self.lock:
                self.answers.append(answer)

    def sent(self, since: float, before: float = float("inf")) -> list[Answer]:
        with self.lock:
            return [answer for answer in self.answers if since <= answer.sent < before]

    def served(self, since: float) -> list[Answer]:
        """Answers to commands sent since then that the stack served as usual (not the outage's answer)."""
        return [answer for answer in self.sent(since) if acknowledged(answer.response) and not answer.outage]


def api_token(stack: Stack) -> str:
    return stack.shell(
        "from django.contrib.auth import get_user_model\n"
        "from chatops_site.web.models import ApiToken\n"
        "print(ApiToken.issue(get_user_model().objects.get(username='alice'), 'faults')[1])\n"
    ).strip()


def deployments(stack: Stack, token: str) -> requests.Response:
    """The API's list of deployments, as a tool asks for it."""
    headers = {"Authorization": f"Token {token}", "X-Forwarded-Proto": "https"}
    return requests.get(f"{stack.url}/api/v1/deployments/", headers=headers, timeout=30, allow_redirects=False)


def restart_mid_burst(
    stack: Stack, slack: SlackApi, server: PostgresServer, token: str
) -> tuple[list[Answer], requests.Response]:
    """The burst's answers (before, during a few seconds of outage, and after it until served again), and
    the API's answer during the outage."""
    with Burst(stack, slack) as burst:
        until(lambda: len(burst.served(0)) >= 8, what="the burst to be served")
        stopped = time.monotonic()
        server.stop("immediate")
        try:
            api = deployments(stack, token)
            until(
                lambda: time.monotonic() - stopped > 3 and len(burst.sent(stopped)) >= 8,
                what="a few seconds of commands while PostgreSQL is down",
            )
        finally:
            server.start()
        restarted = time.monotonic()
        until(lambda: len(burst.served(restarted)) >= 8, 30, "the stack to serve again after the restart")
    assert not burst.failures, burst.failures
    during = burst.sent(stopped, restarted)
    first = min(burst.served(restarted), key=lambda answer: answer.answered)
    print(
        f"{len(burst.answers)} answers, {len(during)} while PostgreSQL was down:",
        sorted({(a.response.status_code, a.shown[:100]) for a in during}),
    )
    print(f"served again {first.answered - restarted:.2f}s after PostgreSQL was back")
    assert any(a.outage for a in during), "no command met the outage"
    # Back for good: once a command was served after the restart, every later one was too.
    assert not [a.command for a in burst.answers if a.sent >= first.sent and a.outage]
    return burst.answers, api


def assert_shown_by_slack(answers: list[Answer]) -> None:
    """Every answer is a 200 with a text Slack shows, the outage's too: never an error page."""
    unclear = [
        (a.command, a.response.status_code, a.response.text[:300]) for a in answers if not acknowledged(a.response)
    ]
    assert not unclear, unclear
    assert all(a.shown for a in answers if a.response.content)
    assert not [a.command for a in answers if "Traceback" in a.response.text]


def assert_nothing_half_written(stack: Stack, answers: list[Answer]) -> list[int]:
    """Each answer but the outage's names its finished audit row, each ok deploy its deployment, and each
    deployment has one requesting command; the deployments' ids."""
    runs = {
        trigger: (outcome, command, found)
        for trigger, outcome, command, found in stack.rows(
            "SELECT r.request_id, r.outcome, r.command, d.id FROM bots_commandrun r "
            "LEFT JOIN deploys_deployment d ON d.id = r.deployment_id"
        )
    }
    assert not [a.command for a in answers if not a.outage and a.trigger not in runs]
    assert not [trigger for trigger, (outcome, _, _) in runs.items() if outcome == "pending"]
    deploys = [found for outcome, command, found in runs.values() if command == "deploy" and outcome == "ok"]
    assert deploys and None not in deploys, runs
    requesters = stack.rows(
        "SELECT d.id, count(r.id) FROM deploys_deployment d LEFT JOIN bots_commandrun r ON r.deployment_id = d.id "
        "GROUP BY d.id"
    )
    assert requesters and all(count == 1 for _, count in requesters), [row for row in requesters if row[1] != 1]
    return [deployment_id for deployment_id, _ in requesters]


def assert_each_ends_once(stack: Stack, ids: list[int], seconds: float) -> None:
    start = time.monotonic()
    try:
        until(lambda: set(stack.states(ids).values()) <= set(ENDED), seconds, "every deployment to end")
    finally:
        print(stack.rows("SELECT id, state, pinning, dispatch_attempts FROM deploys_deployment ORDER BY id"))
    print(f"{len(ids)} deployments ended within {time.monotonic() - start:.1f}s")
    assert set(stack.states(ids).values()) == {"succeeded"}, stack.states(ids)
    endings = stack.rows(
        "SELECT deployment_id, count(*) FROM deploys_deploymentevent WHERE to_state = ANY(%s) GROUP BY 1", list(ENDED)
    )
    assert dict(endings) == dict.fromkeys(ids, 1)


def failed_tasks_since(stack: Stack, moment: datetime) -> list[tuple]:
    return stack.rows("SELECT func, name FROM django_q_task WHERE NOT success AND started >= %s", moment)


def test_postgres_restarted_mid_burst_half_writes_nothing_and_serves_again(own_postgres, stack, github, slack):  # noqa: F811
    simulated_targets(stack, github, delay="1s")
    slack.route("POST", rf"/commands/{TEAM}/(?P<name>\d+)/[\w-]+", slack._response)

    token = api_token(stack)

    answers, api = restart_mid_burst(stack, slack, own_postgres, token)
    assert_shown_by_slack(answers)
    assert api.status_code == 503 and "database" in api.json()["detail"], (api.status_code, api.text[:300])
    assert deployments(stack, token).ok
    ids = assert_nothing_half_written(stack, answers)
    # What the outage lost is booked again by the sweep; this once is all it takes.
    stack.recover_lost_work()
    assert_each_ends_once(stack, ids, 60)

    # Quiet, the stack keeps a connection per web thread and worker; the restart kills them all. Each
    # is replaced as it is next used: no command is refused, no task fails and nothing waits for the sweep.
    own_postgres.stop("immediate")
    own_postgres.start()
    restarted_at = datetime.now(UTC)
    later = [slash(stack, slack, "/deploy", f"{service} {env} v1") for service, env in TARGETS for _ in range(2)]
    assert [a.command for a in later if not acknowledged(a.response) or a.outage] == []
    ids = assert_nothing_half_written(stack, answers + later)
    assert_each_ends_once(stack, ids, 45)
    assert failed_tasks_since(stack, restarted_at) == []
