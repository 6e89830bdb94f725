"""Tracing with OpenTelemetry: one trace from a chat request through every task it sets off, in any process.

On when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP over HTTP; the exporter reads the other `OTEL_*`
variables itself), off and free when it is not: then nothing here imports OpenTelemetry and every
function returns at once, so the calls stay in the code paths at no cost.

Each process that serves sets tracing up for itself, so that it owns its exporter thread and reports its
own pid: the web server's workers (wsgi.py, asgi.py, gunicorn's `post_fork`) and each qcluster worker as
django-q2 spawns it (`trace_queue_workers`); a qcluster's other processes (scheduler, pusher, monitor)
only poll and trace nothing. What the SDK needs is in `tracing_sdk.py`, loaded by `setup()` alone.

The trace context travels with each django-q2 task beside the request id, taken where the task is asked
for (`queue.py` hands both over, also through the Schedule row of a check booked for later; `logs.py`
packs them and opens them in the worker), so a task's span is a child of the span that queued it, in
whatever worker it runs, and the tasks that task queues follow on. With it go the labels of the
command being served (`chatops.command`, `.platform`, `.service`, `.environment`, `.deployment_id`), so
every span of a `/deploy` says which deploy it is part of.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
# The key the trace context travels under inside a django-q2 task package (beside logs.TASK_KEY).
TASK_KEY = "chatops_trace"
TRACER = "chatops"

_provider: TracerProvider | None = None
_lock = threading.Lock()
# The labels of the command or task being served: set on its span, and carried by the tasks it queues.
_labels: ContextVar[dict[str, str | int] | None] = ContextVar("chatops_trace_labels", default=None)


def wanted() -> bool:
    """The environment asks for tracing (and does not switch the SDK off); a `.env` file counts."""
    from django.conf import settings

    settings.DEBUG  # noqa: B018 - loading the settings loads `.env` into the environment (gunicorn's post_fork)
    return bool(os.environ.get(ENDPOINT)) and os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true"


def enabled() -> bool:
    return _provider is not None


def setup() -> bool:
    """Trace this process, if the environment asks for it; idempotent. True when tracing is on."""
    global _provider
    if _provider is None and wanted():
        with _lock:
            if _provider is None:
                from chatops_site import tracing_sdk

                _provider = tracing_sdk.start()
    return _provider is not None


def shutdown() -> None:
    """Send the spans still waiting in the batch, before the process goes (a worker's exit, tests)."""
    if _provider is not None:
        _provider.shutdown()


def trace_queue_workers() -> None:
    """Each qcluster worker sets tracing up as it starts, and sends what it holds as it stops.

    django-q2 ends its worker processes without running `atexit` handlers (multiprocessing's own
    finalizers do run), so the worker flushes through one of those.
    """
    from django_q.signals import post_spawn

    post_spawn.connect(_worker_spawned, dispatch_uid="chatops-tracing-worker")


def _worker_spawned(sender: object, **kwargs: object) -> None:
    if setup():
        from multiprocessing import util

        util.Finalize(None, shutdown, exitpriority=10)


# Spans of our own


def _attributes(labels: Mapping[str, object]) -> dict[str, Any]:
    return {f"chatops.{name}": value for name, value in labels.items() if value not in ("", None)}


@contextmanager
def span(name: str, **labels: str | int) -> Iterator[None]:
    """A span around the block, current inside it, whose labels the tasks queued inside carry along."""
    if _provider is None:
        yield
        return
    from opentelemetry import trace

    kept = {**(_labels.get() or {}), **{k: v for k, v in labels.items() if v not in ("", None)}}
    token = _labels.set(kept)
    try:
        with trace.get_tracer(TRACER).start_as_current_span(name, attributes=_attributes(kept)):
            yield
    finally:
        _labels.reset(token)


def label(**labels: str | int | None) -> None:
    """Say on the current span what it works on (`service="web-app"`); tasks queued from here on carry it."""
    if _provider is None:
        return
    from opentelemetry import trace

    found = {k: v for k, v in labels.items() if v is not None and v != ""}
    kept = _labels.get()
    if kept is not None:
        kept.update(found)
    trace.get_current_span().set_attributes(_attributes(found))


def ids() -> tuple[str, str]:
    """The current trace and span ids as a trace viewer shows them (hex), or blanks: for the log lines."""
    if _provider is None:
        return "", ""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "", ""
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


# Across django-q2 tasks: `logs.py` calls these from its task signals


def carrier() -> dict[str, Any]:
    """What a task queued now carries: the W3C trace context of the current span, and the labels."""
    if _provider is None:
        return {}
    from opentelemetry import propagate

    headers: dict[str, str] = {}
    propagate.inject(headers)
    if not headers:
        return {}
    return {"context": headers, "labels": dict(_labels.get() or {})}


@dataclass
class _Entered:
    """A task's span while it runs, and what to put back when it ends."""

    span: Span
    context_token: Token[Context]
    labels_token: Token[dict[str, str | int] | None]


def enter_task(name: str, path: str, carried: Mapping[str, Any] | None, request_id: str) -> _Entered | None:
    """Start the span `task <name>` as the child of the span that queued the task, and make it current."""
    if _provider is None:
        return None
    from opentelemetry import context, propagate, trace

    carried = carried or {}
    parent = propagate.extract(dict(carried.get("context") or {}))
    labels = dict(carried.get("labels") or {})
    attributes = {**_attributes(labels), "chatops.task": path, "chatops.request_id": request_id}
    started = trace.get_tracer(TRACER).start_span(
        f"task {name}", context=parent, kind=trace.SpanKind.CONSUMER, attributes=attributes
    )
    return _Entered(started, context.attach(trace.set_span_in_context(started, parent)), _labels.set(labels))


def leave_task(entered: _Entered | None, task: Mapping[str, Any]) -> None:
    """End the task's span (failed when the task raised) and give the worker back its own context."""
    if entered is None:
        return
    from opentelemetry import context, trace

    if task.get("success") is not True:
        error = str(task.get("result") or "the task raised").split(" : Traceback", 1)[0]
        entered.span.set_status(trace.Status(trace.StatusCode.ERROR, error[:300]))
    entered.span.end()
    context.detach(entered.context_token)
    _labels.reset(entered.labels_token)
