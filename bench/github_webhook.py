"""How fast a running server answers signed GitHub webhook deliveries.

Posts N real payloads (pull_request, workflow_run, push and check_run fixtures in turn; every tenth one
a redelivery of an earlier GUID) at concurrency C to `<url>/github/webhook`, prints requests/s and
p50/p95/p99 answer latency and errors; then, reading the server's database, checks that each GUID was
recorded exactly once. GitHub gives up after 10 s; the target is p99 under 100 ms at concurrency 16.
The handling itself is queued, so no qcluster is needed for the figures.

    export DJANGO_DEBUG=true DATABASE_URL=sqlite:////tmp/github-bench.sqlite3 GITHUB_WEBHOOK_SECRET=bench-secret
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py runserver 127.0.0.1:8732 --noreload &
    .venv/bin/python bench/github_webhook.py --url http://127.0.0.1:8732 -n 1000 -c 16
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "github-webhooks"
PAYLOADS = [
    "pull_request/opened.payload.json",
    "workflow_run/completed.payload.json",
    "push/payload.json",
    "check_run/completed.payload.json",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8732", help="the server's base URL")
    parser.add_argument("--secret", default=os.environ.get("GITHUB_WEBHOOK_SECRET", ""), help="webhook secret")
    parser.add_argument("-n", "--requests", type=int, default=1000)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--no-check", action="store_true", help="skip the database check")
    return parser.parse_args()


def deliveries(count: int) -> list[tuple[str, str, bytes]]:
    """(event, GUID, body); every tenth repeats the GUID before it, as a redelivery does."""
    bodies = [(name.split("/")[0], (FIXTURES / name).read_bytes()) for name in PAYLOADS]
    planned: list[tuple[str, str, bytes]] = []
    for i in range(count):
        if i % 10 == 9:
            planned.append(planned[-1])
            continue
        event, body = bodies[i % len(bodies)]
        planned.append((event, str(uuid.uuid4()), body))
    return planned


def main() -> int:
    args = parse_args()
    if not args.secret:
        sys.exit("set GITHUB_WEBHOOK_SECRET or pass --secret")
    planned = deliveries(args.requests)
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.concurrency))

    def post(delivery: tuple[str, str, bytes]) -> tuple[float, int]:
        event, guid, body = delivery
        signature = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid,
            "X-Hub-Signature-256": signature,
        }
        started = time.perf_counter()
        status = session.post(f"{args.url}/github/webhook", data=body, headers=headers, timeout=15).status_code
        return time.perf_counter() - started, status

    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        results = list(pool.map(post, planned))
    elapsed = time.perf_counter() - started

    latencies = sorted(seconds * 1000 for seconds, _ in results)
    errors = sum(1 for _, status in results if status != 200)
    cuts = statistics.quantiles(latencies, n=100)
    rate = len(results) / elapsed
    print(f"{len(results)} deliveries in {elapsed:.2f} s: {rate:.0f}/s at concurrency {args.concurrency}")
    print(f"latency ms: p50 {cuts[49]:.1f}  p95 {cuts[94]:.1f}  p99 {cuts[98]:.1f}  max {latencies[-1]:.1f}")
    print(f"errors: {errors}")
    if not args.no_check:
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatops_site.settings")
        import django

        django.setup()
        from integrations.github.models import WebhookDelivery

        guids = {guid for _, guid, _ in planned}
        recorded = WebhookDelivery.objects.filter(delivery_id__in=guids).count()
        print(f"distinct GUIDs sent: {len(guids)}, recorded: {recorded}")
        errors += recorded != len(guids)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
