"""The production stack as `make prod` starts it, on a database, queue and ports of its own, for fault tests.

`make prod` serves the web (gunicorn) after its checks and migrations; the two qclusters it would start
are started here instead, each with the same command and environment but in a process group of its own,
so that a test can kill one with all its workers (`kill -9`) and start it again, as a supervisor would.
The GitHub and Slack stubs stand in for the outside world; tests script their faults.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
import requests
from slack_sdk.signature import SignatureVerifier

from tests.github.conftest import SECRET, sign, workflow_run_payload
from tests.ops.test_production import SERVER, _stop, free_port
from tests.services import REDIS_URL, reachable, redis_reachable
from tests.stubs.github_api import DISPATCHES, GitHubStub
from tests.stubs.slack_api import BOT_TOKEN, TEAM, SlackApi

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "C0FAULTS"
_names = itertools.count(1)


def until(condition: Callable[[], object], seconds: float = 45.0, what: str = "the condition"):
    """Poll `condition` until it is truthy (its value) or raise after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds}s in vain for {what}")
        time.sleep(0.1)


def process_group_of(port: int) -> int | None:
    """The process group of the local process whose TCP connection leaves from `port` (Linux's /proc)."""
    inode = ""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inode = fields[9]
    if not inode:
        return None
    socket_link = f"socket:[{inode}]"
    for fds in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) == socket_link for fd in fds.iterdir()):
                return os.getpgid(int(fds.parent.name))
        except OSError:
            continue  # gone, or not ours to look at
    return None


class Stack:
    """One running production stack: its environment, database, web URL and qclusters."""

    def __init__(self, env: dict[str, str], db: str, url: str, logs: Path) -> None:
        self.env, self.db, self.url, self.logs = env, db, url, logs
        self.clusters: list[subprocess.Popen] = []

    def start_cluster(self) -> subprocess.Popen:
        """`manage.py qcluster`, as `make prod` runs it, in a process group of its own."""
        with open(self.logs, "ab") as output:
            cluster = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.clusters.append(cluster)
        return cluster

    def running_clusters(self) -> int:
        """How many qclusters have said they are running, from the logs."""
        text = self.logs.read_text(errors="replace")
        return sum("Q Cluster" in line and "running." in line for line in text.splitlines())

    def kill(self, cluster: subprocess.Popen) -> None:
        """`kill -9` of the qcluster and all its workers at once."""
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=10)

    def stop_clusters(self) -> None:
        """Killed rather than stopped: the database goes with the test, and a qcluster told to stop while
        busy can take its full grace period."""
        for cluster in self.clusters:
            if cluster.poll() is None:
                self.kill(cluster)

    def rows(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.db) as db:
            return db.execute(sql, params).fetchall()

    def execute(self, sql: str, *params) -> None:
        with psycopg.connect(self.db) as db:
            db.execute(sql, params)

    def manage(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [sys.executable, "manage.py", *args]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def shell(self, code: str) -> str:
        return self.manage("shell", "-v", "0", "-c", code).stdout

    def deploy(self, *commands: str) -> None:
        """Console commands as alice, without waiting for the deploys (one process for them all)."""
        code = "from django.core.management import call_command\n" + "".join(
            f"call_command('chatops', '--as', 'alice', '--no-wait', {c!r})\n" for c in commands
        )
        self.shell(code)

    def deliver(self, event: str, payload: dict) -> None:
        """A GitHub webhook delivery, signed as GitHub signs it, through the TLS proxy production sits behind."""
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(body),
            "X-Forwarded-Proto": "https",
            "Content-Type": "application/json",
        }
        answer = requests.post(f"{self.url}/github/webhook", data=body, headers=headers, timeout=10)
        assert answer.ok, answer.text

    def states(self, ids: list[int]) -> dict[int, str]:
        return dict(self.rows("SELECT id, state FROM deploys_deployment WHERE id = ANY(%s)", ids))

    def recover_lost_work(self) -> None:
        """The minute sweep, as it runs once a lost task's lease is over (here on demand, a while ahead)."""
        self.shell(
            "from datetime import timedelta\n"
            "from django.utils import timezone\n"
            "from chatops_site.deploys import engine\n"
            "engine.recover_lost_work(timezone.now() + timedelta(seconds=engine.DISPATCH_LEASE + 60))\n"
        )


@pytest.fixture
def github() -> Iterator[GitHubStub]:
    with GitHubStub() as stub:
        yield stub


@pytest.fixture
def slack() -> Iterator[SlackApi]:
    with SlackApi() as stub:
        yield stub


@pytest.fixture
def redis_url() -> str:
    """The Redis the stack uses: the suite's, shared, with a queue name of the stack's own."""
    return REDIS_URL


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL server the stack makes its database on: the suite's, shared, unless a test brings its own."""
    return SERVER


@pytest.fixture
def stack(tmp_path, github, slack, redis_url, postgres_url) -> Iterator[Stack]:
    """`make prod` (web) plus two qclusters on PostgreSQL and Redis, talking to the stubs."""
    server = urlsplit(postgres_url)
    if not reachable(server.hostname or "127.0.0.1", server.port or 5432):
        pytest.skip(f"PostgreSQL is not reachable on {server.netloc}; the fault tests need it")
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379; the fault tests need it")
    name = f"chatops_faults_{os.getpid()}_{next(_names)}"
    with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    port, logs = free_port(), tmp_path / "output.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHATOPS_", "PROMETHEUS_"))},
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_HTTPS": "true",
        "DATABASE_URL": f"{postgres_url}/{name}",
        "REDIS_URL": redis_url,
        "CHATOPS_LOG_FORMAT": "json",
        "METRICS_BEARER_TOKEN": secrets.token_urlsafe(24),
        "CHATOPS_QUEUE_NAME": f"chatops-faults-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        "CHATOPS_QUEUE_WORKERS": "2",
        "CHATOPS_RATE_LIMIT": "1000/m",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "QCLUSTERS": "0",  # started below, one process group each
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "GITHUB_API_URL": github.url,
        "GITHUB_APP_ID": str(github.app_id),
        "GITHUB_APP_PRIVATE_KEY": github.private_pem,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
    }
    for unset in ("DJANGO_SETTINGS_MODULE", "GITHUB_TOKEN", "GITHUB_APP_PRIVATE_KEY_PATH"):
        env.pop(unset, None)
    with open(logs, "wb") as output:
        make = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "prod"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = Stack(env, f"{postgres_url}/{name}", f"http://127.0.0.1:{port}", logs)
    try:

        def healthy() -> bool:
            assert make.poll() is None, f"make prod stopped:\n{logs.read_text(errors='replace')[-4000:]}"
            try:
                return requests.get(f"{stack.url}/healthz", timeout=2).ok
            except requests.RequestException:
                return False

        until(healthy, 90, "make prod to serve /healthz")
        for _ in range(2):
            stack.start_cluster()
        until(lambda: stack.running_clusters() >= 2, 60, "both qclusters to run")
        yield stack
    finally:
        stack.stop_clusters()
        _stop(make)
        print(logs.read_text(errors="replace")[-6000:])  # shown when a test fails
        with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


ENDED = ("succeeded", "failed", "timed_out", "cancelled", "expired", "rejected")


def tag_versions(github: GitHubStub, versions: tuple[str, ...] = ("v1", "v2", "v3")) -> None:
    """Tags on the head of every demo repository, so that the demo's deploys of them pin a commit."""
    for repository in ("acme/web-app", "acme/api", "acme/worker"):
        for version in versions:
            github.tag(repository, version, github.head(repository))


def simulated_targets(stack: Stack, github: GitHubStub, delay: str) -> None:
    """The demo catalog on the simulated provider, each deploy taking `delay`; alice linked to Slack."""
    tag_versions(github)
    stack.shell(
        f"from chatops_site.demo import seed_catalog; seed_catalog(delay={delay!r})\n"
        "from django.contrib.auth import get_user_model\n"
        "from chatops_site.catalog.models import ChatIdentity\n"
        "alice = get_user_model().objects.get(username='alice')\n"
        f"ChatIdentity.objects.create(platform='slack', workspace={TEAM!r}, chat_user_id='U0ALICE', user=alice)\n"
    )


def github_targets(stack: Stack, github: GitHubStub, channel: str = "console:ops") -> None:
    """The demo catalog, its dev and staging targets deploying through acme's `deploy.yml` workflow."""
    tag_versions(github)
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


def slash(stack: Stack, slack: SlackApi, command: str, text: str, trigger: str = "") -> requests.Response:
    """A slash command as Slack sends it: form-encoded, signed with the stack's signing secret; `trigger`
    (Slack's trigger_id) becomes the request id of its audit row."""
    n = next(_names)
    body = urlencode(
        {
            "team_id": TEAM,
            "channel_id": "C0CHAT",
            "user_id": "U0ALICE",
            "user_name": "alice",
            "command": command,
            "text": text,
            "response_url": f"{slack.url}/commands/{TEAM}/{n}/response-secret",
            "trigger_id": trigger or f"{n}.{time.time_ns()}.trigger",
        }
    )
    stamp = str(int(time.time()))
    signature = SignatureVerifier(stack.env["SLACK_SIGNING_SECRET"]).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "X-Forwarded-Proto": "https",  # through the TLS proxy production sits behind
    }
    return requests.post(f"{stack.url}/slack/commands", data=body, headers=headers, timeout=30, allow_redirects=False)


def acknowledged(answer: requests.Response) -> bool:
    """Slack's normal answer: a 200, empty or the JSON message of the reply."""
    if answer.status_code != 200:
        return False
    if not answer.content:
        return True
    return "json" in answer.headers.get("Content-Type", "") and "response_type" in answer.json()
