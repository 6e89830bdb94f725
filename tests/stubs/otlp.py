"""A local OpenTelemetry collector: takes OTLP/HTTP trace exports (`POST /v1/traces`) and keeps the spans.

It decodes the protobuf `ExportTraceServiceRequest` the SDK's exporter sends (gzip or plain) into plain
`Span`s, each with its resource's attributes, so a test can ask which process made which span.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.stubs import Answer, Call, StubServer

KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def _attributes(pairs: list[KeyValue]) -> dict[str, object]:
    return {pair.key: _value(pair.value) for pair in pairs}


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: str
    attributes: dict[str, object]
    resource: dict[str, object]
    events: list[dict[str, object]] = field(default_factory=list)
    status: tuple[int, str] = (0, "")

    @property
    def pid(self) -> object:
        return self.resource.get("process.pid")

    def strings(self) -> list[str]:
        """Every text the span carries: name, attributes, events, status, as the exporter sent them."""
        found = [self.name, self.status[1]]
        for values in [self.attributes, *self.events]:
            for value in values.values():
                found.extend(str(item) for item in (value if isinstance(value, list) else [value]))
        return found


class OtlpReceiver(StubServer):
    """`with OtlpReceiver() as otlp:` point OTEL_EXPORTER_OTLP_ENDPOINT at `otlp.url`; read `otlp.spans`."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[Span] = []
        self.route("POST", r"/v1/traces", self._traces)

    def _traces(self, call: Call) -> Answer:
        body = call.body
        encoding = call.header("content-encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        Span(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            kind=KINDS.get(span.kind, str(span.kind)),
                            attributes=_attributes(span.attributes),
                            resource=resource,
                            events=[{"name": e.name, **_attributes(e.attributes)} for e in span.events],
                            status=(span.status.code, span.status.message),
                        )
                    )
        with self._lock:
            self.spans.extend(received)
        answer = ExportTraceServiceResponse().SerializeToString()
        return Answer(200, answer, {"Content-Type": "application/x-protobuf"})

    def trace(self, trace_id: str) -> list[Span]:
        return [span for span in self.spans if span.trace_id == trace_id]
