"""Structured logs: JSON lines when `CHATOPS_LOG_FORMAT=json`, a request id on every line, no secrets.

The request id is taken from the incoming `X-Request-ID` (or made up) by `RequestIdMiddleware`, or made
up when a command arrives another way (the console). It rides along inside every django-q2 task the
command enqueues, and every task those tasks enqueue (checks booked for later too, in their Schedule
row), so one grep follows a `/deploy` from the chat request through dispatch, checks and announcements.
When tracing is on (tracing.py), the trace context rides along beside it, and every line also carries
the trace and span ids, to go from a line to its trace; the spans carry the request id back.

Secret settings, signatures and credentials are blanked out of every line, whatever the code that logged
it wrote: in the message, the traceback and the extra fields, for every logger (settings.LOGGING sends
them all through the one handler that does it). Spans leave through the same `redact`.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from chatops_site import tracing

request_id: ContextVar[str] = ContextVar("request_id", default="")
task_name: ContextVar[str] = ContextVar("task_name", default="")

# The key our id travels under inside a django-q2 task package.
TASK_KEY = "chatops_request_id"
# The keyword argument it (and the trace context) travels in from `queue`, until the task is packed.
CARRIED_KWARG = "chatops_carried"
HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
REDACTED = "[redacted]"
# Whatever the settings call them: webhook signatures, bearer and basic credentials, Slack and GitHub tokens.
_CREDENTIALS = re.compile(
    r"(?:sha256=|v0=)[0-9a-fA-F]{64}"
    r"|\b[0-9a-fA-F]{128}\b"  # Discord's Ed25519 signature
    r"|(?i:bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|\bxox[a-z]-[A-Za-z0-9-]+"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
)
# Credentials inside something worth reading (a URL, a name): the group is kept, what follows it blanked.
# The lookahead lets a line's other characters fail at once: a log line costs a few microseconds here.
_CREDENTIALS_INSIDE = re.compile(
    r"(?=[/?&aAtTsSpPrR])(?:"
    + "|".join(
        (
            r"\baW50ZXJhY3Rpb246[\w.+/=-]+",  # a Discord interaction token ("interaction:" in base64), whole
            # Discord webhook and interaction URLs, also channel addresses: /webhooks/<id>/<token>[/...]
            r"(/webhooks/[^/\s?#\"'<>]+/)[^/\s?#\"'<>]+",
            # Slack response_urls and incoming webhooks (hooks.slack.com/commands/T0123/<id>/<secret>), also
            # as urllib3 writes them in a connection error: host='hooks.slack.com' ... url: /commands/T0123/...
            r"(/(?:commands|actions|services|workflows|triggers)/T[A-Z0-9]+/)[^\s\"'<>]+",
            # A URL's query parameter named like a secret: ?token=, &access_token=, ?key=, ?code=, ?sig=...
            r"([?&][\w.-]*(?i:token|key|secret|sig|password|code|auth|credential)[\w.-]*=)[^&#\s\"'<>]+",
            # A value named like one, in text, JSON or a dict's repr: access_token=..., "response_url": "..."
            r"((?i:token|secret|passw(?:or)?d|api[_-]?key|response_url)[\"']?\s*[:=]\s*[\"']?)[^\s\"'<>,;&)}\][]+",
        )
    )
    + ")"
)
_SECRET_SETTING = re.compile(r"SECRET|TOKEN|PASSWORD|PRIVATE_KEY")
# Probes and scrapes come every few seconds and say nothing.
QUIET_PATHS = ("/healthz", "/readyz", "/metrics")

access_log = logging.getLogger("chatops.requests")


def new_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def request_scope(incoming: str = ""):
    """Log lines inside carry `incoming` (when it is a sane id), the id already set, or a new one."""
    chosen = incoming if _VALID_ID.fullmatch(incoming or "") else request_id.get() or new_id()
    token = request_id.set(chosen)
    try:
        yield chosen
    finally:
        request_id.reset(token)


class RequestIdMiddleware:
    """Give every request an id (the proxy's `X-Request-ID` when sane), echo it, and log one line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        with request_scope(request.headers.get(HEADER, "")) as rid:
            response = self.get_response(request)
            response[HEADER] = rid
            if not request.path.startswith(QUIET_PATHS):
                access_log.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={"status": response.status_code, "duration_ms": int((time.monotonic() - started) * 1000)},
                )
        return response


# django-q2: the id, and the trace context when tracing is on, travel inside the task package


def carried() -> dict[str, object]:
    """What a task asked for now carries: the request id, and the trace context when tracing is on."""
    found: dict[str, object] = {}
    if rid := request_id.get():
        found["request_id"] = rid
    if trace := tracing.carrier():
        found["trace"] = trace
    return found


def _tag_task(sender, task, **kwargs) -> None:
    # `queue.enqueue` and `queue.later` hand over what the task carries as a keyword argument that is not
    # the function's, taken where the task was asked for; a task queued another way carries what is current.
    asked = task["kwargs"].pop(CARRIED_KWARG, None) or carried()
    task[TASK_KEY] = asked.get("request_id") or task["id"]
    if trace := asked.get("trace"):
        task[tracing.TASK_KEY] = trace


def _enter_task(sender, func, task, **kwargs) -> None:
    # Tasks run one after another in a worker process, or inline in `sync` mode (tests): keep the
    # tokens so the caller's id (and span) come back afterwards.
    task.get("kwargs", {}).pop(CARRIED_KWARG, None)  # packed by a process that did not take it out
    name = func if isinstance(func, str) else getattr(func, "__name__", "")
    rid = task.get(TASK_KEY) or task["id"]
    path = task["func"] if isinstance(task["func"], str) else f"{getattr(func, '__module__', '')}.{name}"
    task["_chatops_tokens"] = (
        request_id.set(rid),
        task_name.set(name),
        tracing.enter_task(name, path, task.get(tracing.TASK_KEY), rid),
    )


def _leave_task(sender, func, task, **kwargs) -> None:
    tokens = task.pop("_chatops_tokens", None)
    if tokens:
        tracing.leave_task(tokens[2], task)
        request_id.reset(tokens[0])
        task_name.reset(tokens[1])


def follow_into_tasks() -> None:
    from django_q.signals import post_execute_in_worker, pre_enqueue, pre_execute

    pre_enqueue.connect(_tag_task, dispatch_uid="chatops-request-id-enqueue")
    pre_execute.connect(_enter_task, dispatch_uid="chatops-request-id-enter")
    post_execute_in_worker.connect(_leave_task, dispatch_uid="chatops-request-id-leave")


# Redaction and formatting


@functools.cache
def _secret_values() -> list[str]:
    """Worked out once (it reads every setting) and again whenever a setting changes, in tests too."""
    values = []
    for name in dir(settings):
        value = getattr(settings, name, None)
        if name.isupper() and _SECRET_SETTING.search(name) and isinstance(value, str) and len(value) >= 6:
            values.append(value)
    return sorted(values, key=len, reverse=True)


@receiver(setting_changed)
def _forget_secret_values(**kwargs) -> None:
    _secret_values.cache_clear()


def _blank_after_kept(found: re.Match) -> str:
    return (found[found.lastindex] if found.lastindex else "") + REDACTED


def redact(text: str) -> str:
    for value in _secret_values():
        text = text.replace(value, REDACTED)
    return _CREDENTIALS_INSIDE.sub(_blank_after_kept, _CREDENTIALS.sub(REDACTED, text))


def _redact_value(value: object) -> object:
    """An extra field, redacted however deep: as JSON will write it, objects by their `str`."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


class ContextFilter(logging.Filter):
    """Adds the request id, task and (when tracing) trace and span ids to every record; blanks secrets out."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task = task_name.get()
        record.trace_id, record.span_id = tracing.ids()
        record.msg, record.args = redact(record.getMessage()), ()
        return True


# Attributes every LogRecord has; anything else was passed with `extra=` and is worth keeping.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "task",
    "trace_id",
    "span_id",
}


class PlainFormatter(logging.Formatter):
    """The usual text line, with secrets blanked out of the traceback too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, task, trace_id, span_id, extras..."""

    def format(self, record: logging.LogRecord) -> str:
        ids = (getattr(record, "trace_id", ""), getattr(record, "span_id", ""))
        trace_id, span_id = ids if ids[0] else tracing.ids()  # a record that did not pass our filter
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "") or request_id.get(),
            "task": getattr(record, "task", "") or task_name.get(),
            "trace_id": trace_id,
            "span_id": span_id,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = _redact_value(value)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps({k: v for k, v in line.items() if v not in ("", None)}, default=str)
