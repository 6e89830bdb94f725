"""A soak: minutes of mixed chat and GitHub traffic on the production stack, with latency and memory per minute.

Starts what `make prod` starts (gunicorn with gunicorn.conf.py and two qclusters, DEBUG off) on a scratch
PostgreSQL database it creates and drops, the Redis broker under a queue name of its own, and local stand-ins
for GitHub and Slack (tests/stubs/). It seeds, through the catalog file, 20 targets (5 services in dev, qa,
staging and prod; dev simulated, the rest GitHub Actions; prod waits for approval) and 50 Slack users who
deploy, 10 of whom approve prod. A thread pool then sends --rate signed slash commands a second: /status and
/history, a /deploy every --deploy-every seconds around the targets, and an /approve of each deploy waiting in
prod by a lead other than its requester. GitHub ends each run a few seconds after its dispatch (one in 20
fails) and says so with a signed `workflow_run` delivery.

Every minute: requests, p50 and p99 latency, errors, the queue's depth and the resident memory (MiB) of every
process (gunicorn and its workers; each qcluster, its sentinel, workers, monitor and pusher). At the end, once
the deployments have drained: latency per kind, p99 drift, memory growth, rows per table, and the checks (each
answered command left one CommandRun, each deploy answered ok has a deployment, each deployment ended once,
GitHub was asked once per run). A lost command, a deploy run twice or one that never ended fails it (exit 1).
Needs PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379); Linux (RSS from /proc).

    .venv/bin/python bench/soak.py --minutes 20
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import itertools
import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import redis
import requests
from psycopg import sql
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.stubs.github_api import DISPATCHES, GitHubStub  # noqa: E402
from tests.stubs.slack_api import BOT_TOKEN, TEAM, SlackApi  # noqa: E402

SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/14"  # the tests use 15
SERVICES = ("shop", "search", "payments", "accounts", "mailer")
ENVIRONMENTS = ("dev", "qa", "staging", "prod")
TARGETS = [(service, env) for service in SERVICES for env in ENVIRONMENTS]
USERS = [f"user{n:02d}" for n in range(1, 51)]
LEADS = USERS[:10]  # they approve prod
QUEUE_WORKERS = 4  # per qcluster, the product's default, said here so that the processes can be named
RUN_SECONDS = 4  # how long a GitHub run takes
ENDED = ["succeeded", "failed", "timed_out", "cancelled", "expired", "rejected"]
UNDER_WAY = ["awaiting_approval", "queued", "dispatching", "running"]
FOREIGN = ("DJANGO_", "CHATOPS_", "PROMETHEUS_", "GITHUB_", "SLACK_", "DISCORD_", "AWS_", "OIDC_", "OTEL_")
PAYLOAD = json.loads((ROOT / "tests/fixtures/github-webhooks/workflow_run/completed.payload.json").read_text())
# Per request: how many CommandRuns, the command, its outcome, whether it has a deployment.
COMMAND_RUNS = (
    "SELECT request_id, count(*), min(command), min(outcome), bool_and(deployment_id IS NOT NULL) "
    "FROM bots_commandrun WHERE request_id LIKE %s GROUP BY 1"
)
# Per deployment: its state, its target's provider, how many times it entered an ended state, and running.
DEPLOYMENTS = (
    "SELECT d.id, d.state, t.provider, count(e.id) FILTER (WHERE e.to_state = ANY(%s)), "
    "count(e.id) FILTER (WHERE e.to_state = 'running') FROM deploys_deployment d "
    "JOIN catalog_deploytarget t ON t.id = d.target_id "
    "LEFT JOIN deploys_deploymentevent e ON e.deployment_id = d.id GROUP BY d.id, t.provider ORDER BY d.id"
)
SEED_USERS = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
team, leads = Group.objects.create(name="team"), Group.objects.create(name="leads")
for name in {USERS!r}:
    user = get_user_model().objects.create_user(name, name + "@example.com")
    user.groups.add(team, *([leads] if name in {LEADS!r} else []))
"""


def slack_id(user: str) -> str:
    return f"U0SOAK{user[-2:]}"


def catalog() -> str:
    """The catalog file: environments, services and their targets, grants to the groups, Slack identities."""
    simulated = '{provider: simulated, settings: {delay: 5s}, channel: "slack:C0SOAK"}'
    actions = '{provider: github_actions, settings: {workflow: deploy.yml, ref: main}, channel: "slack:C0SOAK"}'
    targets = ", ".join(f"{env}: {simulated if env == 'dev' else actions}" for env in ENVIRONMENTS)
    return "\n".join(
        ["environments:"]
        + [f"  - {{name: {e}, order: {n}, requires_approval: {e == 'prod'}}}" for n, e in enumerate(ENVIRONMENTS)]
        + ["services:"]
        + [f"  - {{name: {s}, repository: acme/{s}, targets: {{{targets}}}}}" for s in SERVICES]
        + ["grants:", "  - {group: team, actions: [deploy, view]}"]
        + ["  - {group: leads, actions: [approve], environments: [prod]}", "identities:"]
        + [f"  - {{user: {u}, platform: slack, workspace: {TEAM}, chat_user: {slack_id(u)}}}" for u in USERS]
    )


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    command = [sys.executable, "manage.py", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}")


def start(scratch: Path, database: str, github: GitHubStub, slack: SlackApi) -> tuple[subprocess.Popen, dict]:
    """`make prod` with production settings; up once it serves /healthz and both qclusters say they run."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)} | {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_HTTPS": "true",
        "DATABASE_URL": database,
        "REDIS_URL": REDIS_URL,
        "CHATOPS_QUEUE_NAME": database.rsplit("/", 1)[1],
        "CHATOPS_QUEUE_WORKERS": str(QUEUE_WORKERS),
        "CHATOPS_LOG_FORMAT": "json",
        "METRICS_BEARER_TOKEN": secrets.token_urlsafe(24),
        "PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics"),
        "GITHUB_API_URL": github.url,
        "GITHUB_APP_ID": github.app_id,
        "GITHUB_APP_PRIVATE_KEY": github.private_pem,
        "GITHUB_WEBHOOK_SECRET": secrets.token_hex(16),
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
    }
    logs = scratch / "output.log"
    with open(logs, "wb") as output:
        make = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "prod"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and make.poll() is None:
        said = logs.read_text(errors="replace").splitlines()
        clusters = sum("Q Cluster" in line and "running." in line for line in said)
        with contextlib.suppress(requests.RequestException):
            if clusters >= 2 and requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return make, env
        time.sleep(0.5)
    stop(make)
    sys.exit(f"make prod did not come up:\n{logs.read_text(errors='replace')[-4000:]}")


def stop(make: subprocess.Popen) -> None:
    """SIGTERM to make, gunicorn and the qclusters (one session); whatever is left after 30 s is killed."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(make.pid, signal.SIGTERM)
        for _ in range(60):
            make.poll()
            os.killpg(make.pid, 0)
            time.sleep(0.5)
        os.killpg(make.pid, signal.SIGKILL)
    make.wait()


class Processes:
    """The processes under make, each named when first seen: gunicorn and its workers (w1...), each qcluster
    (qc1, qc2) with its sentinel and the sentinel's workers, monitor and pusher (spawned in that order)."""

    def __init__(self, root: int) -> None:
        self.root, self.names, self.born = root, {0: ""}, Counter[str]()
        self.samples: list[dict[str, float]] = []

    def sample(self) -> dict[str, float]:
        """Name -> MiB, a group (qc1, qc2, gunicorn) after the other."""
        found: dict[str, float] = {}
        todo = [(self.root, 0)]
        while todo:
            pid, parent = todo.pop()
            if pid not in self.names:
                self.names[pid] = self.name(pid, self.names[parent])
            if (mib := rss_mib(pid)) and self.names[pid]:
                found[self.names[pid]] = mib
            todo += [(child, pid) for child in reversed(children(pid))]
        self.samples.append(found)
        return found

    def name(self, pid: int, parent: str) -> str:
        if not parent:  # make, its shell, or what they started
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:  # gone meanwhile
                return ""
            if any(arg.endswith(b"/gunicorn") for arg in argv[:2]):
                return "gunicorn"
            if b"qcluster" in argv:
                self.born["qc"] += 1
                return f"qc{self.born['qc']}"
            return ""
        self.born[parent] += 1
        n = self.born[parent]
        if parent == "gunicorn":
            return f"gunicorn w{n}"
        if " " not in parent:
            return f"{parent} sentinel"
        if parent.endswith(" sentinel"):  # a worker that died is replaced by a new one: w5, w6...
            role = {QUEUE_WORKERS + 1: "monitor", QUEUE_WORKERS + 2: "pusher"}.get(n, f"w{n - 2 * (n > QUEUE_WORKERS)}")
            return f"{parent.split()[0]} {role}"
        return f"{parent} child{n}"

    @staticmethod
    def line(sample: dict[str, float]) -> str:
        """`qc1 96 sentinel 89 w1 94 ... | qc2 ... | gunicorn 30 w1 103 ...`"""
        groups: dict[str, list[str]] = {}
        for name, mib in sample.items():
            head, _, role = name.partition(" ")
            groups.setdefault(head, []).append(f"{role} {mib:.0f}" if role else f"{mib:.0f}")
        return " | ".join(f"{head} {' '.join(parts)}" for head, parts in groups.items())


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # gone meanwhile
            found += [int(child) for child in (task / "children").read_text().split()]
    return sorted(found)


def rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest rank; 0 for no values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else 0.0


def table_rows(db: psycopg.Connection) -> dict[str, int]:
    tables = [row[0] for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
    each = (sql.SQL("SELECT {}, count(*) FROM {}").format(sql.Literal(t), sql.Identifier(t)) for t in tables)
    return dict(db.execute(sql.SQL(" UNION ALL ").join(each)).fetchall())


class Soak:
    """The traffic, what came of each request (the minute it ended in, what, ms, "" or what went wrong), the checks."""

    def __init__(self, url: str, env: dict[str, str], github: GitHubStub, slack: SlackApi, db: psycopg.Connection):
        self.url, self.github, self.slack, self.db = url, github, slack, db
        self.verifier = SignatureVerifier(env["SLACK_SIGNING_SECRET"])
        self.webhook_secret = env["GITHUB_WEBHOOK_SECRET"].encode()
        self.user_ids = dict(db.execute("SELECT username, id FROM auth_user").fetchall())
        self.pool, self.local, self.lock = ThreadPoolExecutor(16), threading.local(), threading.Lock()
        self.results: list[tuple[int, str, float, str]] = []
        self.answered: set[str] = set()  # request ids of the commands answered with a 200
        self.approved: dict[int, float] = {}  # deployment -> when an /approve was last sent for it
        self.seen: dict[int, float] = {}  # GitHub run -> when it was first seen
        self.tag, self.ids = uuid.uuid4().hex[:8], itertools.count(1)
        self.began = time.monotonic()

    def rows(self, query: str, *params) -> list[tuple]:
        return self.db.execute(query, params).fetchall()  # type: ignore[arg-type]

    def post(self, what: str, path: str, body: str | bytes, headers: dict[str, str], request_id: str = "") -> None:
        """POST through the TLS proxy production sits behind, and record how it went."""
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        started = time.monotonic()
        try:
            headers = headers | {"X-Forwarded-Proto": "https"}
            answer = session.post(self.url + path, data=body, headers=headers, timeout=30, allow_redirects=False)
            error = "" if answer.status_code == 200 else f"HTTP {answer.status_code}"
            if request_id and not error:
                with self.lock:
                    self.answered.add(request_id)
                said = answer.json().get("text", "") if answer.content else ""
                error = "command error" if said.startswith("Something went wrong") else ""
        except (requests.RequestException, ValueError) as exc:
            error = exc.__class__.__name__
        done = time.monotonic()
        with self.lock:
            self.results.append((int((done - self.began) // 60), what, (done - started) * 1000, error))

    def slash(self, user: str, command: str, text: str) -> None:
        """A slash command as Slack sends it, signed; its trigger id is the request id the product keeps."""
        request_id = f"soak-{self.tag}-{next(self.ids)}"
        form = {"team_id": TEAM, "channel_id": "C0SOAK", "user_id": slack_id(user), "user_name": user}
        form |= {"command": command, "text": text, "trigger_id": request_id}
        body = urlencode(form | {"response_url": self.slack.response_url(request_id)})
        stamp = str(int(time.time()))
        signature = self.verifier.generate_signature(timestamp=stamp, body=body)
        headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.post(command, "/slack/commands", body, headers, request_id)

    def deliver(self, run: dict) -> None:
        """GitHub's `workflow_run` delivery of a run the stub completed, signed as GitHub signs it."""
        payload = PAYLOAD | {"workflow_run": PAYLOAD["workflow_run"] | run}
        payload["repository"] = PAYLOAD["repository"] | {"full_name": run["repository"]["full_name"]}
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(self.webhook_secret, body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": str(uuid.uuid4())}
        headers |= {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
        self.post("delivery", "/github/webhook", body, headers)

    def chores(self) -> None:
        """End the GitHub runs that have run long enough, approve what waits (again after 20 s if it still waits),
        and now and then push a commit to a repository, so that the commits new since the last deploy change."""
        now = time.monotonic()
        for run in list(self.github.runs.values()):
            if run["status"] != "completed" and now - self.seen.setdefault(run["id"], now) >= RUN_SECONDS:
                self.github.finish(run["id"], "failure" if run["id"] % 20 == 0 else "success")
                self.pool.submit(self.deliver, {k: v for k, v in run.items() if k != "artifacts"})
        waiting = "SELECT id, requested_by_id, commit_sha FROM deploys_deployment WHERE state = %s AND NOT pinning"
        for deployment, requester, commit in self.rows(waiting, "awaiting_approval"):
            if now - self.approved.get(deployment, 0) > 20:
                self.approved[deployment] = now
                approver = random.choice([lead for lead in LEADS if self.user_ids[lead] != requester])
                self.pool.submit(self.slash, approver, "/approve", f"{deployment} {commit}".strip())
        if random.random() < 1 / 15:
            self.github.push(f"acme/{random.choice(SERVICES)}", message="Change something")

    def run(self, minutes: int, rate: float, deploy_every: float, processes: Processes, depth) -> None:
        """--rate commands a second, of which a /deploy every --deploy-every seconds; a line as each minute ends."""
        targets = itertools.cycle(random.sample(TARGETS, len(TARGETS)))
        ticks, next_deploy, next_chores = itertools.count(), self.began, self.began
        print(f"{'min':>3} {'req':>5} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} {'queue':>5}  RSS MiB", flush=True)
        for minute in range(minutes):
            while (now := time.monotonic()) < self.began + 60 * (minute + 1):
                if now >= next_chores:
                    self.chores()
                    next_chores += 2
                user, (service, env) = random.choice(USERS), random.choice(TARGETS)
                if now >= next_deploy:
                    next_deploy += deploy_every
                    service, env = next(targets)
                    version = random.choice(["main", "main", "v1", "v2"])
                    self.pool.submit(self.slash, user, "/deploy", f"{service} {env} {version}")
                else:
                    text = random.choice(["", service, f"{service} {env}"])
                    self.pool.submit(self.slash, user, random.choice(["/status", "/status", "/history"]), text)
                time.sleep(max(0.0, self.began + next(ticks) / rate - time.monotonic()))
            with self.lock:
                done = [result for result in self.results if result[0] == minute]
            passed = [ms for _, _, ms, error in done if not error]
            errors = Counter(error for _, _, _, error in done if error)
            print(
                f"{minute + 1:3d} {len(done):5d} {percentile(passed, 50):7.1f} {percentile(passed, 99):7.1f} "
                f"{sum(errors.values()):4d} {depth():5d}  {processes.line(processes.sample())}"
                + (f"  errors: {dict(errors)}" if errors else ""),
                flush=True,
            )

    def drain(self, seconds: float) -> float:
        """No more commands; runs still end and deploys still get approved until none is under way."""
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            if not self.rows("SELECT 1 FROM deploys_deployment WHERE state = ANY(%s)", UNDER_WAY):
                break
            self.chores()
            time.sleep(1)
        self.pool.shutdown(wait=True)
        return time.monotonic() - began

    def report(self, minutes: int, processes: Processes, rows_before: dict[str, int]) -> None:
        for what in sorted({what for _, what, _, _ in self.results}):
            mine = [(ms, error) for _, kind, ms, error in self.results if kind == what]
            passed = [ms for ms, error in mine if not error]
            print(
                f"  {what:9} {len(mine):6d} requests  p50 {percentile(passed, 50):6.1f} ms  "
                f"p99 {percentile(passed, 99):7.1f} ms  errors {len(mine) - len(passed)}"
            )

        def p99(first: int, last: int) -> str:
            span = [ms for minute, _, ms, error in self.results if first <= minute + 1 <= last and not error]
            return f"{percentile(span, 99):.1f} ms in minute{f's {first}-{last}' if last > first else f' {first}'}"

        span = max(1, (minutes - 1) // 5)  # minute 1 warms up: the first request of each process is slow
        windows = dict.fromkeys([(1, 1), (2, 1 + span), (minutes - span + 1, minutes)])
        print("p99 drift: " + ", ".join(p99(first, last) for first, last in windows if last <= minutes))
        start, end = processes.samples[0], processes.samples[-1]
        print(f"RSS growth from minute 1 to minute {minutes} (MiB):")
        for name in [*start, *(name for name in end if name not in start)]:
            if name in start and name in end:
                print(f"  {name:18} {start[name]:7.1f} -> {end[name]:7.1f}  {end[name] - start[name]:+7.1f}")
            else:
                print(f"  {name:18} {'gone by the end' if name in start else 'started after minute 1'}")
        print(f"  {'all':18} {sum(start.values()):7.1f} -> {sum(end.values()):7.1f}")
        print("rows per table that changed, before the traffic -> after:")
        changed = [
            f"{t} {rows_before.get(t, 0)} -> {n}" for t, n in table_rows(self.db).items() if n != rows_before.get(t, 0)
        ]
        for n in range(0, len(changed), 3):
            print("  " + "".join(f"{entry:44}" for entry in changed[n : n + 3]).rstrip())

    def checks(self) -> list[str]:
        """What went wrong: lost commands, deploys run twice, deployments that never ended."""
        problems, runs = [], {row[0]: row[1:] for row in self.rows(COMMAND_RUNS, f"soak-{self.tag}-%")}
        lost, twice = self.answered - runs.keys(), [request for request, (n, *_) in runs.items() if n > 1]
        orphans = [
            request
            for request, (_, command, outcome, deployed) in runs.items()
            if outcome == "ok" and command == "deploy" and not deployed
        ]
        print(f"commands: {len(self.answered)} answered, {len(runs)} CommandRuns, {len(lost)} lost, {len(twice)} twice")
        outcomes = Counter(f"/{command} {outcome}" for _, command, outcome, _ in runs.values())
        print("  outcomes: " + ", ".join(f"{what} {n}" for what, n in sorted(outcomes.items())))
        if lost or twice:
            problems.append(f"commands lost: {sorted(lost)[:10]}; recorded twice: {twice[:10]}")
        if orphans:
            problems.append(f"deploys answered ok without a deployment: {orphans[:10]}")
        dispatched = Counter(int(call.json()["inputs"]["deployment_id"]) for call in self.github.calls_to(DISPATCHES))
        deployments = self.rows(DEPLOYMENTS, ENDED)
        states = Counter(state for _, state, _, _, _ in deployments)
        print(f"deployments: {len(deployments)}, {dict(states)}; GitHub dispatches: {sum(dispatched.values())}")
        ran_twice = [
            (d, f"ended {ended}x, running {ran}x, dispatched {dispatched[d]}x")
            for d, _, provider, ended, ran in deployments
            if ended > 1 or ran > 1 or dispatched[d] > 1 or (provider == "github_actions" and ran and not dispatched[d])
        ]
        unended = [(d, state) for d, state, _, ended, _ in deployments if state not in ENDED or ended != 1]
        print(f"  each ended once: {'NO' if unended else 'yes'}; each ran once: {'NO' if ran_twice else 'yes'}")
        if ran_twice:
            problems.append(f"deployments that ran twice, or ran on GitHub undispatched: {ran_twice[:10]}")
        if unended:
            problems.append(f"deployments that did not end, or not once: {unended[:10]}")
        return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=20)
    parser.add_argument("--rate", type=float, default=4.0, help="slash commands a second (a workspace may send 300/m)")
    parser.add_argument("--deploy-every", type=float, default=3.0, help="seconds from one /deploy to the next")
    parser.add_argument("--drain", type=float, default=300.0, help="at most this long for the deployments to end")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="chatops-soak-"))
    name = f"chatops_soak_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    installations = {f"acme/{service}": 7001 for service in SERVICES}
    try:
        with GitHubStub(installations=installations) as github, SlackApi() as slack:
            make, env = start(scratch, f"{SERVER}/{name}", github, slack)
            try:
                manage(env, "shell", "-v", "0", "-c", SEED_USERS)
                manage(env, "catalog", "apply", "-", stdin=catalog())
                for repository, tag in itertools.product(installations, ("v1", "v2")):
                    github.tag(repository, tag, github.head(repository))
                queue, key = redis.Redis.from_url(REDIS_URL), f"django_q:{env['CHATOPS_QUEUE_NAME']}:q"
                with psycopg.connect(env["DATABASE_URL"], autocommit=True) as db:
                    rows_before, processes = table_rows(db), Processes(make.pid)
                    soak = Soak(f"http://127.0.0.1:{env['PORT']}", env, github, slack, db)
                    print(
                        f"{args.minutes} min on database {name}: {args.rate:g} commands/s from {len(USERS)} users, "
                        f"a /deploy every {args.deploy_every:g} s around {len(TARGETS)} targets"
                    )
                    soak.run(args.minutes, args.rate, args.deploy_every, processes, lambda: queue.llen(key))
                    print(f"\ndrained in {soak.drain(args.drain):.0f} s; latency per kind over the whole run:")
                    soak.report(args.minutes, processes, rows_before)
                    problems = soak.checks()
            finally:
                stop(make)
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    said = (scratch / "output.log").read_text(errors="replace").splitlines()
    levels = Counter(
        level
        for line in said
        for level in ("WARNING", "ERROR", "CRITICAL")
        if f'"{level}"' in line or f"[{level}]" in line
    )
    print(f"server log ({scratch / 'output.log'}): {len(said)} lines, {dict(levels) or 'no warnings or errors'}")
    if problems:
        print("\n" + "!" * 100 + "\nSOAK FAILED\n" + "\n".join(f"  {p}" for p in problems) + "\n" + "!" * 100)
        return 1
    print("\nsoak passed: no command lost, no deploy ran twice, every deployment ended once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
