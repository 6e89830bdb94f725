"""How fast a running server acknowledges signed Slack slash commands.

Sends N signed `/deploy` and `/status` commands (half each) at concurrency C to `<url>/slack/commands`
and prints requests/s, p50/p95/p99 acknowledgement latency and errors; then, reading the server's
database, checks that every accepted request left exactly one `CommandRun`. Slack's own limit is 3 s;
the target on a 2-core machine is p99 under 100 ms at concurrency 16 with no errors.

    # a server as `make run` starts it, on its own port and SQLite file
    export DJANGO_DEBUG=true DATABASE_URL=sqlite:////tmp/slack-bench.sqlite3 SLACK_SIGNING_SECRET=bench-secret \
        CHATOPS_WORKSPACE_RATE_LIMIT=100000/m
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo
    .venv/bin/python manage.py qcluster & .venv/bin/python manage.py runserver 127.0.0.1:8731 &
    .venv/bin/python bench/slack_ack.py --url http://127.0.0.1:8731 -n 1000 -c 16

The signing secret comes from `--secret` or SLACK_SIGNING_SECRET; the database from DATABASE_URL,
as for the server. Follow-ups go to a local sink this script runs, so Slack is never called.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import acks  # bench/acks.py, beside this file
import requests
from slack_sdk.signature import SignatureVerifier

TEAM = "TBENCH"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8731", help="the server's base URL")
    parser.add_argument("--secret", default=os.environ.get("SLACK_SIGNING_SECRET", ""), help="Slack signing secret")
    parser.add_argument("-n", "--requests", type=int, default=1000)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=64, help="distinct Slack users, all linked to --as")
    parser.add_argument("--as", dest="username", default="alice", help="the ChatOps user they act as")
    parser.add_argument("--no-check", action="store_true", help="skip the CommandRun check (no database access)")
    return parser.parse_args()


class Sink(BaseHTTPRequestHandler):
    """Stands in for Slack's response_url: takes follow-ups and says ok."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def main() -> int:
    args = parse_args()
    if not args.secret:
        sys.exit("set SLACK_SIGNING_SECRET or pass --secret (the server's signing secret)")
    if not args.no_check:
        acks.django_setup()
        acks.link_users("slack", TEAM, [f"UBENCH{n:03d}" for n in range(args.users)], args.username)
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    sink_url = f"http://127.0.0.1:{sink.server_address[1]}/response"
    verifier = SignatureVerifier(args.secret)
    run_id = uuid.uuid4().hex[:8]

    def send(session: requests.Session, i: int) -> str:
        command, text = ("/deploy", "web-app dev") if i % 2 == 0 else ("/status", "")
        response = acks.post_slash(
            session,
            args.url,
            verifier,
            {
                "team_id": TEAM,
                "channel_id": "CBENCH",
                "user_id": f"UBENCH{i % args.users:03d}",
                "user_name": "bench",
                "command": command,
                "text": text,
                "response_url": f"{sink_url}/{i}",
                "trigger_id": f"bench-{run_id}-{i}",
            },
        )
        return (
            "" if response.status_code == 200 and "response_type" in response.json() else f"HTTP {response.status_code}"
        )

    results, wall = acks.fire(send, args.requests, args.concurrency)
    sink.shutdown()
    _, errors = acks.report("requests (/deploy and /status)", results, wall, args.concurrency)
    if args.no_check:
        return 1 if errors else 0
    ok = acks.one_run_each("slack", f"bench-{run_id}-", args.requests - errors)
    return 0 if ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
