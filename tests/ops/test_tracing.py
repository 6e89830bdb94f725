"""Tracing: off and free without OTEL_EXPORTER_OTLP_ENDPOINT; with it, one `/deploy` is one trace.

The trace goes from the Slack request in a gunicorn worker, through every task it sets off in a qcluster
worker, to the SQL and the calls to Slack, and carries what the deploy is about but never a secret.
In this process tracing is switched on per test (`traced`), against a provider that keeps the spans in
memory and no instrumentation; the processes of the end-to-end test trace as production does, into a
local OTLP/HTTP receiver.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler
from django_q.signals import pre_enqueue
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind
from slack_sdk.signature import SignatureVerifier

from chatops_site import logs, queue, tracing
from chatops_site.catalog.models import ChatIdentity
from chatops_site.demo import seed_catalog
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment
from chatops_site.tracing_sdk import NoLoneCalls, Redacting
from tests.services import database_url
from tests.stubs.otlp import OtlpReceiver, Span
from tests.stubs.slack_api import BOT_TOKEN, TEAM, SlackApi

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
# The secret part of a Slack response_url: whoever holds it may post in the channel.
RESPONSE_URL_SECRET = "Zq8sEcReTrEsPoNsEuRl0123"


@pytest.fixture(scope="session")
def memory_provider():
    """The process's tracer provider, set once: it keeps what it is given in memory, through our redaction."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Redacting(exporter)))
    trace.set_tracer_provider(provider)
    return provider, exporter


@pytest.fixture
def traced(memory_provider, monkeypatch):
    """Tracing on for this test only; returns the spans it ended, oldest first."""
    provider, exporter = memory_provider
    exporter.clear()
    monkeypatch.setattr(tracing, "_provider", provider)
    return exporter.get_finished_spans


def _hex(span_id: int) -> str:
    return trace.format_span_id(span_id)


# Off


def test_without_the_endpoint_nothing_is_set_up_and_no_opentelemetry_is_loaded(tmp_path):
    """A process as the web server starts one, that serves a deploy and logs: OpenTelemetry never loads."""
    script = """
import logging, sys
import chatops_site.wsgi
from bots.command_engine import handle
from bots.types import Invocation
from chatops_site import tracing
from chatops_site.demo import seed_catalog

seed_catalog()
tracing.setup()
line = Invocation.from_line("/deploy web-app staging", platform="console", workspace="local", chat_user_id="alice")
reply = handle(line)
logging.getLogger("chatops.test").warning("a line")
print(tracing.enabled(), "Deploy #" in reply.text, sorted(m for m in sys.modules if m.startswith("opentelemetry")))
from opentelemetry import trace
print(type(trace.get_tracer_provider()).__name__)
"""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'off.sqlite3'}",
        "CHATOPS_GIT_REPOSITORIES": "",
        "DJANGO_DEBUG": "true",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False True []", "ProxyTracerProvider"]


def test_a_command_with_tracing_off_makes_no_span_and_its_tasks_carry_no_trace(memory_provider, say, json_lines):
    exporter = memory_provider[1]
    exporter.clear()
    packed = []
    pre_enqueue.connect(lambda sender, task, **kwargs: packed.append(task), weak=False, dispatch_uid="test-packed")
    try:
        say("alice", "/deploy web-app staging")
    finally:
        pre_enqueue.disconnect(dispatch_uid="test-packed")

    assert exporter.get_finished_spans() == ()
    assert packed and all(tracing.TASK_KEY not in task and logs.TASK_KEY in task for task in packed)
    assert all("trace_id" not in line for line in json_lines())


# On, in this process: the command's span is the parent of its tasks', however they were queued


def test_a_command_and_every_task_it_sets_off_are_one_trace(traced, say):
    with logs.request_scope("req-1"):
        say("alice", "/deploy web-app staging")

    deployment = Deployment.objects.get()
    spans = traced()
    by_id = {span.context.span_id: span for span in spans}
    [command] = [span for span in spans if span.name == "command /deploy"]
    tasks = [span for span in spans if span.name.startswith("task ")]
    assert {span.context.trace_id for span in spans} == {command.context.trace_id}
    assert command.parent is None
    assert dict(command.attributes) == {
        "chatops.command": "deploy",
        "chatops.platform": "console",
        "chatops.request_id": "req-1",
        "chatops.service": "web-app",
        "chatops.environment": "staging",
        "chatops.deployment_id": deployment.pk,
    }
    assert {span.name for span in tasks} >= {"task start_next", "task dispatch", "task check", "task announce"}
    for span in tasks:
        assert span.kind == SpanKind.CONSUMER
        assert span.attributes["chatops.command"] == "deploy"
        assert span.attributes["chatops.deployment_id"] == deployment.pk
        assert span.attributes["chatops.request_id"] == "req-1"
        assert span.attributes["chatops.task"].startswith(("chatops_site.deploys.tasks.", "bots."))
        ancestor = span
        while ancestor.parent is not None:  # up the chain: task -> task ... -> the command
            ancestor = by_id[ancestor.parent.span_id]
        assert ancestor is command
    # A task queued by a task is the child of that task's span.
    [dispatch] = [span for span in tasks if span.name == "task dispatch"]
    assert by_id[dispatch.parent.span_id].name == "task start_next"


def test_a_check_booked_for_later_carries_the_request_id_and_the_trace_in_its_schedule_row(
    traced, say, monkeypatch, json_lines
):
    monkeypatch.setattr(engine, "SHORT_WAIT", -1.0)  # every check becomes a Schedule row
    with logs.request_scope("req-later"):
        say("alice", "/deploy web-app staging")
    [booked] = Schedule.objects.filter(func="chatops_site.deploys.tasks.check")
    carried = ast.literal_eval(booked.kwargs)[logs.CARRIED_KWARG]
    [command] = [span for span in traced() if span.name == "command /deploy"]
    assert carried["request_id"] == "req-later"
    assert carried["trace"]["context"]["traceparent"].split("-")[1] == trace.format_trace_id(command.context.trace_id)
    assert carried["trace"]["labels"]["service"] == "web-app"

    Schedule.objects.filter(pk=booked.pk).update(next_run=timezone.now() - timedelta(seconds=1))
    with logs.request_scope("the-scheduler"):  # whatever the scheduler's context, the row's wins
        scheduler(broker=get_broker())

    [check] = [span for span in traced() if span.name == "task check"]
    assert check.context.trace_id == command.context.trace_id
    assert check.attributes["chatops.request_id"] == "req-later"
    checked = [line for line in json_lines() if line.get("task") == "check"]
    assert checked and {line["request_id"] for line in checked} == {"req-later"}
    assert {line["trace_id"] for line in checked} == {trace.format_trace_id(command.context.trace_id)}


def test_a_failing_task_fails_its_span(traced, db, django_capture_on_commit_callbacks):
    with (
        tracing.span("outer"),
        pytest.raises(ZeroDivisionError),
        django_capture_on_commit_callbacks(execute=True),
    ):
        queue.enqueue("operator.truediv", 1, 0)

    [task] = [span for span in traced() if span.name.startswith("task")]
    assert task.name == "task truediv" and task.status.status_code == trace.StatusCode.ERROR


# Log lines


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("chatops")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_with_tracing_on_log_lines_carry_the_trace_and_span_ids_beside_the_request_id(traced, json_lines):
    log = logging.getLogger("chatops.test")
    with logs.request_scope("req-2"), tracing.span("work"):
        log.info("inside")
        current = trace.get_current_span().get_span_context()
    log.info("outside")

    inside, outside = json_lines()
    assert (inside["request_id"], inside["trace_id"], inside["span_id"]) == (
        "req-2",
        trace.format_trace_id(current.trace_id),
        _hex(current.span_id),
    )
    assert "trace_id" not in outside and "span_id" not in outside


# No secret leaves


def test_urls_headers_and_exception_messages_leave_redacted(settings):
    settings.SLACK_BOT_TOKEN = BOT_TOKEN
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Redacting(exporter)))
    tracer = provider.get_tracer("test")
    response_url = f"https://hooks.slack.com/commands/T0123/456/{RESPONSE_URL_SECRET}"
    webhook = "https://discord.com/api/webhooks/1122/AbCdEfWebhookToken"

    with tracer.start_as_current_span(
        "POST",
        attributes={
            "http.url": response_url,
            "url.full": f"{webhook}?wait=true",
            "http.target": "/slack/oauth?code=oauth-code-123&state=s",
            "http.request.header.authorization": (f"Bearer {BOT_TOKEN}",),
            "http.status_code": 200,
        },
    ) as span:
        span.add_event(
            "exception", {"exception.message": f"Connection refused: url: /commands/T0123/456/{RESPONSE_URL_SECRET}"}
        )

    [sent] = exporter.get_finished_spans()
    assert sent.attributes["http.url"] == "https://hooks.slack.com/commands/T0123/[redacted]"
    assert sent.attributes["url.full"] == "https://discord.com/api/webhooks/1122/[redacted]?wait=true"
    assert sent.attributes["http.target"] == "/slack/oauth?code=[redacted]&state=s"
    assert sent.attributes["http.request.header.authorization"] == ("Bearer [redacted]",)
    assert sent.attributes["http.status_code"] == 200
    assert RESPONSE_URL_SECRET not in str(sent.events[0].attributes)


def test_a_span_with_nothing_to_hide_is_passed_on_as_it_is():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Redacting(exporter)))
    with provider.get_tracer("test").start_as_current_span("SELECT", attributes={"db.system": "sqlite"}):
        pass

    [sent] = exporter.get_finished_spans()
    assert dict(sent.attributes) == {"db.system": "sqlite"}


def test_a_lone_outgoing_call_starts_no_trace_but_one_inside_a_request_is_kept():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(root=NoLoneCalls()))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    with tracer.start_as_current_span("SELECT polling", kind=SpanKind.CLIENT):
        pass
    with (
        tracer.start_as_current_span("GET /deploy", kind=SpanKind.SERVER),
        tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT),
    ):
        pass

    assert [span.name for span in exporter.get_finished_spans()] == ["SELECT", "GET /deploy"]


# Across processes: a Slack request in gunicorn, its tasks in a qcluster worker


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(condition, seconds: float = 60.0, what: str = "it"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited in vain for {what}")


def _start(command: list[str], env: dict[str, str], output: Path) -> subprocess.Popen:
    with output.open("wb") as sink:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _json_lines(path: Path) -> list[dict]:
    """Our JSON lines in a process's output (gunicorn and django-q2 write a few of their own)."""
    return [json.loads(line) for line in path.read_text(errors="replace").splitlines() if line.startswith("{")]


def _chain(span: Span, by_id: dict[str, Span]) -> list[Span]:
    """The span and its ancestors, up to the root of the trace."""
    chain = [span]
    while chain[-1].parent_id:
        chain.append(by_id[chain[-1].parent_id])
    return chain


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_one_slack_deploy_is_one_trace_across_the_web_and_the_queue_worker(tmp_path):
    seed_catalog(delay="1s")
    alice = get_user_model().objects.get(username="alice")
    ChatIdentity.objects.create(platform="slack", workspace=TEAM, chat_user_id="U0ALICE", user=alice)
    port = _free_port()
    with OtlpReceiver() as otlp, SlackApi() as slack:
        # A response_url shaped as Slack's, whose last part is the secret.
        slack.route("POST", r"/commands/T0001/(?P<name>\d+)/[\w-]+", slack._response)
        response_url = f"{slack.url}/commands/{TEAM}/7001/{RESPONSE_URL_SECRET}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "GITHUB_", "REDIS_URL"))},
            "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # the production starts refuse the development key
            "DATABASE_URL": database_url(),
            "CHATOPS_QUEUE_NAME": f"chatops-tracing-{os.getpid()}",
            "CHATOPS_QUEUE_WORKERS": "1",
            "CHATOPS_LOG_FORMAT": "json",
            "CHATOPS_GIT_REPOSITORIES": "",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds between batches, for the test's sake
        }
        web = _start([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"], env, tmp_path / "web.log")
        cluster = _start([sys.executable, "manage.py", "qcluster"], env, tmp_path / "cluster.log")
        try:
            _until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), what="gunicorn")
            body = urlencode(
                {
                    "team_id": TEAM,
                    "channel_id": "C0CHAT",
                    "user_id": "U0ALICE",
                    "user_name": "alice",
                    "command": "/deploy",
                    "text": "web-app staging",
                    "response_url": response_url,
                    "trigger_id": "7001.1.trigger",
                }
            )
            stamp = str(int(time.time()))
            answer = requests.post(
                f"http://127.0.0.1:{port}/slack/commands",
                data=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": stamp,
                    "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(
                        timestamp=stamp, body=body
                    ),
                    "X-Request-ID": "trace-me-1",
                },
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            deployment = _until(
                lambda: Deployment.objects.filter(state="succeeded").first(), what="the deploy to succeed"
            )
            # The last word in chat went through the response_url, and its span has come in.
            _until(lambda: any("succeeded" in json.dumps(sent) for sent in slack.responses.get("7001", [])))
            _until(
                lambda: (
                    len([s for s in otlp.spans if "/commands/" in str(s.attributes)])
                    >= len(slack.calls_to(r"/commands/.*"))
                ),
                what="the spans of the calls to the response_url",
            )
        finally:
            _stop(web)
            _stop(cluster)

    [request] = [s for s in otlp.spans if s.kind == "server" and "slack/commands" in s.name]
    spans = otlp.trace(request.trace_id)
    by_id = {s.span_id: s for s in spans}
    web_pid, worker_spans = request.pid, [s for s in spans if s.pid != request.pid]
    [command] = [s for s in spans if s.name == "command /deploy"]
    tasks = [s for s in worker_spans if s.name.startswith("task ")]

    # One trace, two processes: the request's (gunicorn's worker) and the queue worker's.
    assert request.resource["service.name"] == "chatops" and isinstance(web_pid, int)
    assert {s.pid for s in worker_spans} and web_pid not in {s.pid for s in worker_spans}
    assert {s.name for s in tasks} >= {"task start_next", "task dispatch", "task check", "task announce"}
    assert _chain(command, by_id)[-1] is request
    for task in tasks:
        assert request in _chain(task, by_id) and command in _chain(task, by_id)
        assert task.attributes["chatops.deployment_id"] == deployment.pk
        assert (task.attributes["chatops.command"], task.attributes["chatops.platform"]) == ("deploy", "slack")
        assert (task.attributes["chatops.service"], task.attributes["chatops.environment"]) == ("web-app", "staging")
    assert command.attributes["chatops.request_id"] == "trace-me-1"
    assert command.attributes["chatops.deployment_id"] == deployment.pk
    # Down to the SQL, in both processes, and the calls to Slack, with the response_url's secret blanked out.
    sql = "postgresql" if connection.vendor == "postgresql" else "sqlite"  # the suite runs on both
    assert {s.attributes.get("db.system") for s in spans if s.pid == web_pid} >= {sql}
    assert {s.attributes.get("db.system") for s in worker_spans} >= {sql}
    posts = [s for s in worker_spans if s.kind == "client" and "/commands/" in str(s.attributes)]
    assert posts and all(
        (s.attributes.get("http.url") or s.attributes.get("url.full")) == f"{slack.url}/commands/{TEAM}/[redacted]"
        for s in posts
    )
    # Nothing anywhere carries a secret: not the response_url's, the bot token or the signing secret.
    everything = [text for s in otlp.spans for text in s.strings()]
    for secret in (RESPONSE_URL_SECRET, BOT_TOKEN, SIGNING_SECRET, env["DJANGO_SECRET_KEY"]):
        assert not [text for text in everything if secret in text]
    # And from a log line to the trace: the request's and the tasks' lines carry its id.
    web_lines = [line for line in _json_lines(tmp_path / "web.log") if line.get("request_id") == "trace-me-1"]
    worker_lines = [line for line in _json_lines(tmp_path / "cluster.log") if line.get("request_id") == "trace-me-1"]
    assert web_lines and worker_lines
    assert {line.get("trace_id") for line in web_lines + worker_lines} == {request.trace_id}


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
