"""What the chat acknowledgement benchmarks share: the load, the latency report, and the audit check.

`slack_ack.py` and `discord_ack.py` differ only in how a request is signed and what counts as an
answer; both send N requests at concurrency C and check one `CommandRun` per accepted request.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import requests
from slack_sdk.signature import SignatureVerifier

Result = tuple[float, str]  # seconds, and "" or what went wrong


def django_setup() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatops_site.settings")
    import django

    django.setup()


def link_users(platform: str, workspace: str, chat_user_ids: list[str], username: str) -> None:
    """Link the bench's chat users to one ChatOps user, so that /deploy passes RBAC like a real user's."""
    from django.contrib.auth import get_user_model

    from chatops_site.catalog.models import ChatIdentity

    user = get_user_model().objects.get(username=username)
    for chat_user_id in chat_user_ids:
        ChatIdentity.objects.get_or_create(
            platform=platform, workspace=workspace, chat_user_id=chat_user_id, defaults={"user": user}
        )


def post_slash(
    session: requests.Session, url: str, verifier: SignatureVerifier, fields: dict[str, str]
) -> requests.Response:
    """A slash command to `url`'s /slack/commands as Slack sends it: form-encoded and signed."""
    body = urlencode(fields)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": verifier.generate_signature(timestamp=timestamp, body=body),
    }
    return session.post(f"{url}/slack/commands", data=body, headers=headers, timeout=30)


def fire(post: Callable[[requests.Session, int], str], count: int, concurrency: int) -> tuple[list[Result], float]:
    """Call `post(session, i)` ("" or what went wrong) for i < count, `concurrency` at a time."""
    local = threading.local()

    def one(i: int) -> Result:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        try:
            error = post(session, i)
        except (requests.RequestException, ValueError) as exc:
            error = exc.__class__.__name__
        return time.perf_counter() - started, error

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(count)))
    return results, time.perf_counter() - began


def report(what: str, results: list[Result], wall: float, concurrency: int) -> tuple[float | None, int]:
    """Print throughput, latency percentiles and errors; return the p50 in ms (None if nothing passed) and errors."""
    latencies = sorted(elapsed * 1000 for elapsed, error in results if not error)
    errors = [error for _, error in results if error]
    print(f"{len(results)} {what}, concurrency {concurrency}, {wall:.2f} s")
    print(f"throughput: {len(results) / wall:.1f} req/s")
    p50 = None
    if latencies:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
        p50 = cuts[49]
        print(
            f"answer latency ms: p50 {p50:.1f}  p95 {cuts[94]:.1f}  p99 {cuts[98]:.1f}  "
            f"max {latencies[-1]:.1f}  min {latencies[0]:.1f}"
        )
    print(f"errors: {len(errors)}" + (f" ({', '.join(sorted(set(errors))[:5])})" if errors else ""))
    return p50, len(errors)


def one_run_each(platform: str, request_prefix: str, accepted: int) -> bool:
    """Whether every accepted request left exactly one CommandRun (read from the server's database)."""
    from django.db.models import Count

    from bots.models import CommandRun

    runs = CommandRun.objects.filter(platform=platform, request_id__startswith=request_prefix)
    per_request = runs.values("request_id").annotate(n=Count("id"))
    duplicated = sum(1 for row in per_request if row["n"] != 1)
    recorded = per_request.count()
    ok = recorded == accepted and not duplicated
    print(f"one CommandRun per accepted request: {'yes' if ok else 'NO'} ({recorded} recorded for {accepted} accepted)")
    outcomes = dict(runs.values_list("outcome").annotate(n=Count("id")).order_by())
    print("outcomes: " + ", ".join(f"{outcome} {n}" for outcome, n in sorted(outcomes.items())))
    return ok
