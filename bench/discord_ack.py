"""How fast a running server answers signed Discord interactions, and what Ed25519 verification costs.

Sends N signed `/deploy` and `/status` slash commands (half each) at concurrency C to
`<url>/discord/interactions` and prints requests/s, p50/p95/p99 answer latency and errors; then, reading
the server's database, checks that every accepted interaction left exactly one `CommandRun`, and times
the server's own signature check (`bots.platforms.discord.views.verify`'s Ed25519 step) on the same bodies.
Discord's own limit is 3 s; the target on a 2-core machine is p99 under 100 ms at concurrency 16 with
no errors.

    # the bench's public key, for the server (the private key is derived from --seed)
    .venv/bin/python bench/discord_ack.py --public-key
    # a server as `make run` starts it, on its own port and SQLite file, with follow-ups sent to this script
    export DJANGO_DEBUG=true DATABASE_URL=sqlite:////tmp/discord-bench.sqlite3 DISCORD_PUBLIC_KEY=<printed key> \
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
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import acks  # bench/acks.py, beside this file
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
        acks.django_setup()
        acks.link_users("discord", GUILD, [user_id(n) for n in range(args.users)], args.username)
    sink = ThreadingHTTPServer(("127.0.0.1", args.sink_port), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    run_id = uuid.uuid4().hex[:8]
    bodies = [json.dumps(interaction(run_id, i, args.users)).encode() for i in range(args.requests)]

    def send(session: requests.Session, i: int) -> str:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Signature-Timestamp": timestamp,
            "X-Signature-Ed25519": key.sign(timestamp.encode() + bodies[i]).signature.hex(),
        }
        response = session.post(f"{args.url}/discord/interactions", data=bodies[i], headers=headers, timeout=30)
        return (
            ""
            if response.status_code == 200 and response.json().get("type") in (4, 5)
            else f"HTTP {response.status_code}"
        )

    results, wall = acks.fire(send, args.requests, args.concurrency)
    p50, errors = acks.report("interactions (/deploy and /status)", results, wall, args.concurrency)
    cost = verify_cost(key, bodies)
    share = f", {cost / 10 / p50:.1f}% of the p50 answer" if p50 else ""
    print(f"Ed25519 verification: {cost:.0f} µs per request (PyNaCl, one core){share}")
    ok = args.no_check or acks.one_run_each("discord", f"bench-{run_id}-", args.requests - errors)
    sink.shutdown()
    return 0 if ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
