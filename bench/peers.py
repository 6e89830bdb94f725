"""The cost of one command: the product beside the three peers of `../shared/peers/`, in one interleaved run.

Starts the product as production serves it (gunicorn, 2 workers x 8 threads, DEBUG off) with its qcluster on
a scratch SQLite file and the ORM broker, and the peers `limit`, `bolt` and `floor` (with its own qcluster)
under the same gunicorn settings, from a virtualenv of their own. After uncounted requests to each (a
process's first requests and tasks load code), sends the same signed `/status` to each in interleaved rounds
(P L B F P L B F ...) and prints per target requests/s, p50/p95/p99, and the CPU its processes (web server
and queue workers) spent per request, with the product's ratios; then the product's
`/deploy` against its own `/status`, and checks one `CommandRun` per accepted request. Then, on a fresh product
each time, the end-to-end latencies, one command at a time: signed `/status` to its first follow-up at the
`response_url`, and `/deploy` (simulated, no delay) to `dispatching`, with the ORM broker and again with Redis.

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install Django gunicorn slack_bolt slack_sdk django-q2 requests
    .venv/bin/python bench/peers.py --peers-python /tmp/peers/bin/python      # -n 2000 -c 16
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import acks  # bench/acks.py, beside this file
import requests
from footprint import free_port, tree
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "peers"
PYTHON = sys.executable
SECRET = secrets.token_urlsafe(16)
TEAM = "TBENCH"
GUNICORN = ["-w", "2", "--threads", "8", "-k", "gthread", "--log-level", "warning"]
arrivals: dict[str, float] = {}  # response_url path -> when its first follow-up arrived
servers: dict[str, list[int]] = {}  # base URL -> the processes (with their children) that serve it


def cpu_seconds(pids: list[int]) -> float:
    """CPU time used so far by these processes and their children (Linux's /proc)."""
    ticks = 0
    for pid in (each for root in pids for each in tree(root)):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Sink(BaseHTTPRequestHandler):
    """Stands in for Slack: its Web API (Bolt checks its token with `auth.test`) and the response_urls,
    noting when each URL's first follow-up arrives."""

    answer = json.dumps({"ok": True, "team_id": TEAM, "user_id": "UBOT", "bot_id": "BBOT"}).encode()

    def do_POST(self) -> None:
        arrivals.setdefault(self.path, time.time())
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args) -> None:
        pass


class Slack:
    """Signs slash commands as Slack does; every request gets its own trigger id and response_url."""

    def __init__(self, sink_url: str) -> None:
        self.sink_url, self.verifier, self.run = sink_url, SignatureVerifier(SECRET), uuid.uuid4().hex[:8]

    def post(self, session: requests.Session, url: str, i: int, command: str, text: str = "") -> requests.Response:
        return acks.post_slash(
            session,
            url,
            self.verifier,
            {
                "team_id": TEAM,
                "channel_id": "CBENCH",
                "user_id": f"UBENCH{i % 64:03d}",
                "user_name": "bench",
                "command": command,
                "text": text,
                "response_url": f"{self.sink_url}/{self.run}-{i}",
                "trigger_id": f"bench-{self.run}-{i}",
            },
        )


def start(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as output:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output, start_new_session=True)


def wait_healthy(url: str, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            sys.exit(f"{url}: a process ended before it answered; see the logs in the scratch directory")
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.3)
    sys.exit(f"{url} never answered /healthz")


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def product(scratch: Path, redis_url: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    """The product on gunicorn and one qcluster, on a fresh SQLite file; yields its URL and environment."""
    name = f"bench-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{scratch / f'{name}.sqlite3'}",
        "SLACK_SIGNING_SECRET": SECRET,
        "CHATOPS_GIT_REPOSITORIES": str(scratch / f"{name}-repositories"),
        "CHATOPS_QUEUE_NAME": name,
        "CHATOPS_RATE_LIMIT": "1000000/m",
        "CHATOPS_WORKSPACE_RATE_LIMIT": "1000000/m",
        "CHATOPS_SIMULATED_DELAY": "0s",
        "CHATOPS_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / f"{name}-metrics"),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "8",
        "REDIS_URL": redis_url,
    }
    port = free_port()
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir()
    link = (
        "from django.contrib.auth import get_user_model\n"
        "from chatops_site.catalog.models import ChatIdentity\n"
        "alice = get_user_model().objects.get(username='alice')\n"
        "for n in range(64):\n"
        f"    ChatIdentity.objects.create(platform='slack', workspace={TEAM!r},\n"
        "                                chat_user_id=f'UBENCH{n:03d}', user=alice)\n"
    )
    for step in (["migrate", "--noinput", "-v", "0"], ["seed_demo"], ["shell", "-c", link]):
        subprocess.run([PYTHON, "manage.py", *step], cwd=ROOT, env=env, check=True, capture_output=True)
    log = scratch / f"{name}.log"
    processes = [
        start([PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py"], ROOT, env, log),
        start([PYTHON, "manage.py", "qcluster"], ROOT, env, log),
    ]
    url = f"http://127.0.0.1:{port}"
    servers[url] = [process.pid for process in processes]
    try:
        wait_healthy(url, processes)
        yield url, env
    finally:
        stop(processes)


@contextmanager
def peers(peers_python: str, scratch: Path, slack_api: str) -> Iterator[dict[str, str]]:
    """limit, bolt and floor (with its qcluster) on gunicorn; yields their URLs by name."""
    env = {**os.environ, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack_api}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    floor_env = {**env, "FLOOR_DB": str(scratch / "floor.sqlite3"), "DJANGO_SETTINGS_MODULE": "floor_site.settings"}
    floor = PEERS / "floor"
    subprocess.run(
        [peers_python, "manage.py", "migrate", "--run-syncdb", "--noinput", "-v", "0"],
        cwd=floor, env=floor_env, check=True, capture_output=True,
    )  # fmt: skip
    ports = {name: free_port() for name in ("limit", "bolt", "floor")}
    gunicorn = [peers_python, "-m", "gunicorn", *GUNICORN]
    log = scratch / "peers.log"
    processes = [
        start([*gunicorn, "-b", f"127.0.0.1:{ports['limit']}", "limit_site.wsgi"], PEERS / "limit", env, log),
        start([*gunicorn, "-b", f"127.0.0.1:{ports['bolt']}", "app:application"], PEERS / "bolt", env, log),
        start([*gunicorn, "-b", f"127.0.0.1:{ports['floor']}", "floor_site.wsgi"], floor, floor_env, log),
        start([peers_python, "manage.py", "qcluster"], floor, floor_env, log),
    ]
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    for name, url in urls.items():
        servers[url] = [process.pid for process in processes if str(ports[name]) in process.args[-2]]
    servers[urls["floor"]].append(processes[-1].pid)  # the floor's qcluster
    try:
        for url in urls.values():
            wait_healthy(url, processes)
        yield urls
    finally:
        stop(processes)


def acknowledged(response: requests.Response) -> str:
    """Slack takes any 200 with a body as the answer (Bolt's is plain text, the others' JSON)."""
    return "" if response.status_code == 200 and response.content else f"HTTP {response.status_code}"


def figures(results: list[acks.Result], wall: float) -> dict[str, float]:
    latencies = sorted(seconds * 1000 for seconds, error in results if not error)
    errors = [error for _, error in results if error]
    if errors:
        print(f"  errors: {', '.join(sorted(set(errors))[:5])}")
    if len(latencies) < 2:
        sys.exit("too few answers to measure")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"rps": len(results) / wall, "p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "errors": len(errors)}


def interleaved(slack: Slack, urls: dict[str, str], commands: dict[str, tuple[str, str]], count: int, args):
    """Send `count` requests to each target in rounds, one target after the other; figures per target."""
    results: dict[str, list[acks.Result]] = {name: [] for name in urls}
    walls, cpu = dict.fromkeys(urls, 0.0), dict.fromkeys(urls, 0.0)
    per_round = count // args.rounds
    offset = 0
    counted, slack.run = slack.run, f"warm-{uuid.uuid4().hex[:8]}"
    for name, url in urls.items():  # each process's first requests and tasks load code: not counted
        command, text = commands[name]
        acks.fire(lambda session, i, url=url, c=command, t=text: acknowledged(slack.post(session, url, i, c, t)),
                  args.warm_up, args.concurrency)  # fmt: skip
    slack.run = counted
    for _ in range(args.rounds):
        for name, url in urls.items():
            command, text = commands[name]
            start_at = offset

            def send(session: requests.Session, i: int, url=url, command=command, text=text, start_at=start_at) -> str:
                return acknowledged(slack.post(session, url, start_at + i, command, text))

            time.sleep(args.settle)
            before = cpu_seconds(servers[url])
            batch, wall = acks.fire(send, per_round, args.concurrency)
            time.sleep(args.settle)  # the queue's share of the batch is done by now
            cpu[name] += cpu_seconds(servers[url]) - before
            results[name] += batch
            walls[name] += wall
            offset += per_round
    return {name: {**figures(results[name], walls[name]), "cpu": cpu[name] * 1000 / count} for name in urls}


def print_table(rows: dict[str, dict[str, float]], base: str) -> None:
    heading = f"{'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'CPU ms':>7}"
    print(f"  {'target':16} {heading}   {base} / this")
    for name, row in rows.items():
        ratio = f"{rows[base]['rps'] / row['rps']:.2f}x req/s, p99 {rows[base]['p99'] / row['p99']:.2f}x"
        print(
            f"  {name:16} {row['rps']:8.1f} {row['p50']:8.1f} {row['p95']:8.1f} {row['p99']:8.1f} "
            f"{row['errors']:7.0f} {row['cpu']:7.1f}   {'' if name == base else ratio}"
        )


def one_run_each(env: dict[str, str], prefix: str, accepted: int) -> bool:
    """Every accepted request left exactly one CommandRun, read from the product's SQLite file."""
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT count(*), count(DISTINCT request_id) FROM bots_commandrun WHERE request_id LIKE ?", (prefix + "%",)
        ).fetchone()
    ok = rows == (accepted, accepted)
    print(f"one CommandRun per accepted request: {'yes' if ok else 'NO'} ({rows[0]} rows for {accepted} accepted)")
    return ok


def sequential(what: str, samples: int, measure: Callable[[int], float | None]) -> None:
    latencies = sorted(ms for ms in (measure(i) for i in range(samples)) if ms is not None)
    if len(latencies) < 2:
        print(f"  {what}: too few samples ({len(latencies)} of {samples})")
        return
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"  {what:34} p50 {cuts[49]:7.1f} ms  p99 {cuts[98]:7.1f} ms  ({len(latencies)} of {samples})")


def end_to_end(slack: Slack, url: str, env: dict[str, str], samples: int) -> None:
    """One command at a time: /status to its follow-up, /deploy to the deployment's `dispatching`."""
    session, slack.run = requests.Session(), uuid.uuid4().hex[:8]
    database = env["DATABASE_URL"].removeprefix("sqlite:///")

    def follow_up(i: int) -> float | None:
        sent = time.time()
        slack.post(session, url, 10_000_000 + i, "/status")
        path = f"/response/{slack.run}-{10_000_000 + i}"
        deadline = time.monotonic() + 10
        while path not in arrivals and time.monotonic() < deadline:
            time.sleep(0.002)
        return (arrivals[path] - sent) * 1000 if path in arrivals else None

    def dispatched(i: int) -> float | None:
        sent = time.time()
        slack.post(session, url, 20_000_000 + i, "/deploy", "web-app dev")
        deadline = time.monotonic() + 10
        with sqlite3.connect(database, timeout=30) as db:
            while time.monotonic() < deadline:
                row = db.execute(
                    "SELECT e.created_at, d.state FROM deploys_deployment d LEFT JOIN deploys_deploymentevent e "
                    "ON e.deployment_id = d.id AND e.to_state = 'dispatching' ORDER BY d.id DESC LIMIT 1"
                ).fetchone()
                if row and row[0] and row[1] in ("succeeded", "failed"):
                    return (datetime.fromisoformat(row[0]).replace(tzinfo=UTC).timestamp() - sent) * 1000
                time.sleep(0.005)
        return None

    sequential("/status -> first follow-up", samples, follow_up)
    sequential("/deploy -> dispatching", samples, dispatched)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers-python", required=True, help="python of a virtualenv with the peers' packages")
    parser.add_argument("-n", "--requests", type=int, default=2000, help="signed /status per target")
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds the requests are cut into")
    parser.add_argument("--warm-up", type=int, default=100, help="uncounted requests per target before the rounds")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of rest before each batch")
    parser.add_argument("--samples", type=int, default=100, help="commands per end-to-end latency")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="chatops-peers-"))
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    sink_url = f"http://127.0.0.1:{sink.server_address[1]}"
    slack = Slack(f"{sink_url}/response")
    ok = True
    with product(scratch) as (url, env), peers(args.peers_python, scratch, f"{sink_url}/api/") as others:
        targets = {"product": url, **others}
        status = dict.fromkeys(targets, ("/status", ""))
        print(f"\nsigned /status, {args.requests} per target, concurrency {args.concurrency}, {args.rounds} rounds")
        rows = interleaved(slack, targets, status, args.requests, args)
        print_table(rows, "product")
        ok &= one_run_each(env, f"bench-{slack.run}-", args.requests - int(rows["product"]["errors"]))
        print(f"\nthe product's /deploy (web-app dev, simulated) beside its /status, {args.requests} each")
        slack.run = uuid.uuid4().hex[:8]
        mine = {"product /status": url, "product /deploy": url}
        rows = interleaved(
            slack, mine, {"product /status": ("/status", ""), "product /deploy": ("/deploy", "web-app dev")},
            args.requests, args,
        )  # fmt: skip
        print_table(rows, "product /status")
        ok &= all(row["errors"] == 0 for row in rows.values())
    for broker, redis_url in (("ORM broker", ""), ("Redis broker", args.redis_url)):
        with product(scratch, redis_url) as (url, env):
            print(f"\nend to end, one command at a time, on an idle product, {broker}")
            end_to_end(slack, url, env, args.samples)
    sink.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
