"""What only a traced process loads (see tracing.py): the SDK's provider, its exporter, the instrumentations.

- The provider names the service `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`),
  `chatops` when neither does, and records the process's pid, so a trace shows which process ran what.
- Spans go out in batches over OTLP/HTTP (protobuf). The exporter reads the standard variables itself:
  the endpoint (`/v1/traces` is added to it), headers, timeout, compression.
- The instrumentations: Django (the incoming request), requests (every outside call goes through
  integrations/http.py, which uses it), psycopg 3 and SQLite (the SQL), redis, botocore (AWS).
- Kept: every trace a request or a task starts. Dropped: an outgoing call (SQL, HTTP, Redis) made outside
  any of them, which would start a trace of one span: a probe's query (probes are not traced), the queue
  broker's polling. `OTEL_TRACES_SAMPLER` replaces this rule with the SDK's samplers.
- No secret leaves: every string the exporter is handed goes through `logs.redact` first, as every log
  line does: span names, attributes (`http.url` holds Slack response URLs and Discord webhook tokens),
  event attributes (an exception's message) and status descriptions. Headers are recorded only when
  `OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*` asks, and then redacted the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, Status, TraceState
from opentelemetry.util.types import Attributes, AttributeValue

from chatops_site.logs import QUIET_PATHS, redact

SERVICE_NAME = "chatops"


def start() -> TracerProvider:
    """Make this process's provider the global one and instrument the libraries; called once, by tracing.setup."""
    resource = Resource.create({"process.pid": os.getpid()})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(root=NoLoneCalls())
    provider = TracerProvider(resource=resource, sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(Redacting(OTLPSpanExporter())))
    trace.set_tracer_provider(provider)
    instrument()
    return provider


def instrument() -> None:
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

    # Before the application loads its middleware: this adds the instrumentation's own, first.
    quiet = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or os.environ.get("OTEL_PYTHON_EXCLUDED_URLS")
    DjangoInstrumentor().instrument(excluded_urls=quiet or ",".join(f"{path}$" for path in QUIET_PATHS))
    RequestsInstrumentor().instrument()
    PsycopgInstrumentor().instrument()
    SQLite3Instrumentor().instrument()
    RedisInstrumentor().instrument()
    BotocoreInstrumentor().instrument()


class NoLoneCalls(Sampler):
    """For a span without a parent: keep it, unless it is an outgoing call made outside any request or task."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "NoLoneCalls"


# Redaction


def _clean(value: AttributeValue) -> AttributeValue:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, tuple | list) and any(isinstance(item, str) for item in value):
        return tuple(redact(str(item)) for item in value)
    return value


def _cleaned(attributes: Attributes) -> Attributes:
    """The same mapping when nothing in it needed redacting, so an untouched span is passed on as it is."""
    if not attributes:
        return attributes
    cleaned = {key: _clean(value) for key, value in attributes.items()}
    return attributes if cleaned == dict(attributes) else cleaned


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    """The span as it may leave the process: the same one when it holds nothing to redact."""
    name = redact(span.name)
    attributes = _cleaned(span.attributes)
    events = [Event(e.name, _cleaned(e.attributes), e.timestamp) for e in span.events]
    description = span.status.description and redact(span.status.description)
    if (
        name == span.name
        and attributes is span.attributes
        and all(new.attributes is old.attributes for new, old in zip(events, span.events, strict=True))
        and description == span.status.description
    ):
        return span
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, description),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class Redacting(SpanExporter):
    """Hands the exporter each span with its secrets blanked out; runs in the batch processor's thread."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([scrubbed(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
