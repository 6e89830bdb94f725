"""How fast a running server answers signed Discord interactions, and what Ed25519 verification costs.

Sends N signed `/deploy` and `/status` slash commands (half each) at concurrency C to
`<url>/discord/interactions` and prints requests/s, p50/p95/p99 answer latency and errors; then, reading
the server's database, checks that every accepted interaction left exactly one `CommandRun`, and times
the server's own signature check (`bots.platforms.discord.verify`'s Ed25519 step) on the same bodies.
Discord's own limit is 3 s; the target on a 2-core machine is p99 under 100 ms at concurrency 16 with
no errors.

    # the bench's public key, for the server (the private key is derived from --seed)
    .venv/bin/python bench/discord_ack.py --public-key
    # a server as `make run` starts it, on its own port and SQLite file, with follow-ups sent to this script
    export DATABASE_URL=sqlite:////tmp/discord-bench.sqlite3 DISCORD_PUBLIC_KEY=<printed key> \
        DISCORD_APPLICATION_ID=bench-app DISCORD_BOT_TOKEN=bench DISCORD_API_URL=http://127.0.0.1:8733 \
        CHATOPS_WORKSPACE_RATE_LIMIT=100000/m
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo
    .venv/bin/python manage.py qcluster & .venv/bin/python manage.py runserver 127.0.0.1:8732 &
    .venv/bin/python bench/discord_ack.py --url http://127.0.0.1:8732 -n 1000 -c 16

The database comes from DATABASE_URL, as for the server. Follow-ups (webhook edits and channel posts)
go to a local sink on --sink-port, so Discord is never called.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from nacl.signing import SigningKey, VerifyKey

GUILD = "990000000000000001"
CHANNEL = "990000000000000002"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8732", help="the server's base URL")
    parser.add_argument("--seed", default="chatops discord bench", help="derives the bench's Ed25519 key")
    parser.add_argument("--public-key", action="store_true", help="print the public key for the server and stop")
    parser.add_argument("-n", "--requests", type=int, default=1000)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=64, help="distinct Discord users, all linked to --as")
    parser.add_argument("--as", dest="username", default="alice", help="the ChatOps user they act as")
    parser.add_argument("--sink-port", type=int, default=8733, help="where the server's DISCORD_API_URL points")
    parser.add_argument("--no-check", action="store_true", help="skip the CommandRun check (no database access)")
    return parser.parse_args()


def django_setup() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatops_site.settings")
    import django

    django.setup()


def link_users(count: int, username: str) -> None:
    """Bench users in guild GUILD, linked so that /deploy passes RBAC like a real user's."""
    from django.contrib.auth import get_user_model

    from chatops_site.catalog.models import ChatIdentity

    user = get_user_model().objects.get(username=username)
    for n in range(count):
        ChatIdentity.objects.get_or_create(
            platform="discord", workspace=GUILD, chat_user_id=user_id(n), defaults={"user": user}
        )


def user_id(n: int) -> str:
    return str(880000000000000000 + n)


class Sink(BaseHTTPRequestHandler):
    """Stands in for Discord's API: takes webhook edits, follow-ups and channel posts, answers a message."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"id": str(time.time_ns()), "channel_id": CHANNEL}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PATCH = _answer

    def log_message(self, *args) -> None:
        pass


def interaction(run_id: str, i: int, users: int) -> dict:
    command, options = (
        (
            "deploy",
            [{"name": "service", "type": 3, "value": "web-app"}, {"name": "environment", "type": 3, "value": "dev"}],
        )
        if i % 2 == 0
        else ("status", [])
    )
    user = {"id": user_id(i % users), "username": f"bench{i % users}"}
    return {
        "id": f"bench-{run_id}-{i}",
        "application_id": "bench-app",
        "type": 2,
        "token": f"bench-token-{run_id}-{i}",
        "version": 1,
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "member": {"user": user, "roles": []},
        "data": {"id": "1", "name": command, "type": 1, "options": options},
    }


def verify_cost(key: SigningKey, bodies: list[bytes]) -> float:
    """Microseconds per Ed25519 verification, as the endpoint does it (timestamp + raw body)."""
    verify_key = VerifyKey(key.verify_key.encode())
    timestamp = str(int(time.time())).encode()
    signed = [(timestamp + body, key.sign(timestamp + body).signature) for body in bodies]
    started = time.perf_counter()
    for message, signature in signed:
        verify_key.verify(message, signature)
    return (time.perf_counter() - started) / len(signed) * 1e6


def main() -> int:
    args = parse_args()
    key = SigningKey(hashlib.sha256(args.seed.encode()).digest())
    if args.public_key:
        print(key.verify_key.encode().hex())
        return 0
    if not args.no_check:
        django_setup()
        link_users(args.users, args.username)
    sink = ThreadingHTTPServer(("127.0.0.1", args.sink_port), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    run_id = uuid.uuid4().hex[:8]
    bodies = [json.dumps(interaction(run_id, i, args.users)).encode() for i in range(args.requests)]
    local = threading.local()

    def send(i: int) -> tuple[float, str]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Signature-Timestamp": timestamp,
            "X-Signature-Ed25519": key.sign(timestamp.encode() + bodies[i]).signature.hex(),
        }
        started = time.perf_counter()
        try:
            response = session.post(f"{args.url}/discord/interactions", data=bodies[i], headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            ok = response.status_code == 200 and response.json().get("type") in (4, 5)
            return elapsed, "" if ok else f"HTTP {response.status_code}"
        except (requests.RequestException, ValueError) as exc:
            return time.perf_counter() - started, exc.__class__.__name__

    began = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        results = list(pool.map(send, range(args.requests)))
    wall = time.perf_counter() - began

    latencies = sorted(elapsed * 1000 for elapsed, error in results if not error)
    errors = [error for _, error in results if error]
    print(f"{args.requests} interactions (/deploy and /status), concurrency {args.concurrency}, {wall:.2f} s")
    print(f"throughput: {args.requests / wall:.1f} req/s")
    if latencies:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        print(
            f"answer latency ms: p50 {cuts[49]:.1f}  p95 {cuts[94]:.1f}  p99 {cuts[98]:.1f}  "
            f"max {latencies[-1]:.1f}  min {latencies[0]:.1f}"
        )
    print(f"errors: {len(errors)}" + (f" ({', '.join(sorted(set(errors))[:5])})" if errors else ""))
    cost = verify_cost(key, bodies)
    share = f", {cost / 10 / cuts[49]:.1f}% of the p50 answer" if latencies else ""
    print(f"Ed25519 verification: {cost:.0f} µs per request (PyNaCl, one core){share}")
    if args.no_check:
        sink.shutdown()
        return 1 if errors else 0

    from django.db.models import Count

    from bots.models import CommandRun

    runs = CommandRun.objects.filter(platform="discord", request_id__startswith=f"bench-{run_id}-")
    per_request = runs.values("request_id").annotate(n=Count("id"))
    duplicated = sum(1 for row in per_request if row["n"] != 1)
    accepted = args.requests - len(errors)
    recorded = per_request.count()
    verdict = "yes" if recorded == accepted and not duplicated else "NO"
    print(f"one CommandRun per accepted interaction: {verdict} ({recorded} recorded for {accepted} accepted)")
    outcomes = dict(runs.values_list("outcome").annotate(n=Count("id")).order_by())
    print("outcomes: " + ", ".join(f"{outcome} {n}" for outcome, n in sorted(outcomes.items())))
    sink.shutdown()
    return 0 if verdict == "yes" and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
