"""Prometheus metrics, and the `/metrics` page that serves them.

Web workers (gunicorn) and queue workers (qcluster) each count in their own process. Started with
`PROMETHEUS_MULTIPROC_DIR` pointing at one directory per machine, they all write their counters there
(prometheus-client's multiprocess mode) and `/metrics` on that machine adds them up. Without it (`make
run`, the tests) each process counts in memory. Label values come from short fixed lists, never from
what users type, so a flood of odd commands cannot blow up the number of series.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from contextlib import contextmanager

import requests
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger("chatops.metrics")

COMMANDS = Counter(
    "chatops_commands", "Chat commands answered, by command, platform and outcome.", ["command", "platform", "outcome"]
)
COMMAND_SECONDS = Histogram(
    "chatops_command_duration_seconds",
    "How long the engine took to answer a command.",
    ["command", "platform", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEPLOYMENTS = Counter("chatops_deployments", "Deployments that ended, by provider and result.", ["provider", "result"])
DEPLOYMENT_SECONDS = Histogram(
    "chatops_deployment_duration_seconds",
    "From dispatch to the end, for deployments that started.",
    ["provider", "result"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
WEBHOOKS = Counter(
    "chatops_webhook_deliveries", "Webhook deliveries received, by source and outcome.", ["source", "outcome"]
)
OUTSIDE_CALLS = Counter(
    "chatops_outside_calls", "HTTP calls to outside systems, by system and status class.", ["system", "status"]
)
OUTSIDE_ERRORS = Counter(
    "chatops_outside_errors",
    "Outside calls that got no answer (timeout, connection) or a server error (5xx).",
    ["system", "kind"],
)
OUTSIDE_SECONDS = Histogram(
    "chatops_outside_call_duration_seconds",
    "How long outside systems took to answer.",
    ["system"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


# What the rest of the code calls


def command_finished(run) -> None:
    """Count a `CommandRun` that got its answer."""
    from bots.registry import COMMANDS as KNOWN  # typed names become labels only when they are commands

    labels = (run.command if run.command in KNOWN else "unknown", run.platform, run.outcome)
    COMMANDS.labels(*labels).inc()
    COMMAND_SECONDS.labels(*labels).observe((run.duration_ms or 0) / 1000)


def deployment_moved(deployment) -> None:
    """Count a deployment that reached a final state, once its transaction commits."""
    if not deployment.is_final:
        return
    provider, result = deployment.target.provider, str(deployment.state)
    started, finished = deployment.started_at, deployment.finished_at

    def count() -> None:
        DEPLOYMENTS.labels(provider, result).inc()
        if started and finished:
            DEPLOYMENT_SECONDS.labels(provider, result).observe((finished - started).total_seconds())

    transaction.on_commit(count)


def webhook_delivery(source: str, outcome: str) -> None:
    """Count one webhook delivery: source `github`, `slack` or `discord`; outcome e.g. `accepted`,
    `duplicate`, `ignored`, `bad_signature` or `invalid`."""
    WEBHOOKS.labels(source, outcome).inc()


@contextmanager
def outside_call(system: str):
    """Time and count one HTTP call to an outside system: `with outside_call("jenkins") as call:`
    make the call, then `call.answered(response)`."""
    call = _Call()
    started = time.monotonic()
    try:
        yield call
    except requests.Timeout:
        OUTSIDE_ERRORS.labels(system, "timeout").inc()
        OUTSIDE_CALLS.labels(system, "none").inc()
        raise
    except requests.RequestException:
        OUTSIDE_ERRORS.labels(system, "connection").inc()
        OUTSIDE_CALLS.labels(system, "none").inc()
        raise
    OUTSIDE_SECONDS.labels(system).observe(time.monotonic() - started)
    OUTSIDE_CALLS.labels(system, f"{call.status // 100}xx").inc()
    if call.status >= 500:
        OUTSIDE_ERRORS.labels(system, "server").inc()


class _Call:
    status = 0

    def answered(self, response: requests.Response) -> None:
        self.status = response.status_code


# Read at scrape time


class QueueCollector:
    """Tasks waiting in the django-q2 broker, asked for at each scrape (the queue is shared by all)."""

    def describe(self):
        # Without it, registering would collect - and ask the broker - at import time.
        return [self._family()]

    def collect(self):
        from django_q.brokers import get_broker

        depth = self._family()
        try:
            broker = get_broker()
            depth.add_metric([broker.list_key], broker.queue_size() or 0)
        except Exception as exc:  # a scrape must still answer when the broker is down; /readyz says why
            log.warning("queue depth unavailable: %s", exc.__class__.__name__)
        yield depth

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("chatops_queue_depth", "Tasks waiting in the task queue.", labels=["queue"])


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        MultiProcessCollector(combined)
        combined.register(QueueCollector())
        return combined
    return REGISTRY


REGISTRY.register(QueueCollector())


@require_GET
def metrics_view(request):
    token = settings.METRICS_BEARER_TOKEN
    if token:
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
