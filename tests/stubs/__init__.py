"""Local stand-ins for outside HTTP APIs: real servers on 127.0.0.1 that record what they were sent.

Each API's stub (Slack, Discord, GitHub, Jenkins, Argo CD) builds on `StubServer`: it registers
handlers for the paths it serves and checks what a real service would check (tokens, signatures).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    """One request the stub received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match | None = None
    client: tuple = ()  # the caller's address and port

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Answer:
    status: int = 200
    body: object = None  # dict/list -> JSON, str/bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], "Answer | dict | list | None"]


class StubServer:
    """`with StubServer() as stub: stub.route("POST", r"/chat\\.postMessage", handler)`; `stub.url`, `stub.calls`.

    `delay` makes every answer slow, to show that a caller does not wait on it. `port` (default: any free
    one) lets a server stopped earlier come back at the same address.
    """

    def __init__(self, port: int = 0) -> None:
        self.calls: list[Call] = []
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: stopping waits for one, and every stub-backed test stops a server.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Later routes win, so a test can override one answer of a stub."""
        self.routes.insert(0, (method.upper(), re.compile(pattern), handler))

    def calls_to(self, pattern: str, method: str | None = None) -> list[Call]:
        regex = re.compile(pattern)
        return [c for c in self.calls if regex.fullmatch(c.path) and (method is None or c.method == method)]

    def start(self) -> StubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _answer(self, call: Call) -> Answer:
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(call.path)
            if method == call.method and match:
                call.match = match
                result = handler(call)
                return result if isinstance(result, Answer) else Answer(body=result)
        return Answer(404, {"message": f"stub: no route for {call.method} {call.path}"})

    def _handler_class(self):
        stub = self

        class RequestHandler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                call = Call(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    client=self.client_address,
                )
                with stub._lock:
                    stub.calls.append(call)
                if stub.delay:
                    time.sleep(stub.delay)
                answer = stub._answer(call)
                payload = answer.body
                content_type = "application/json"
                if isinstance(payload, str):
                    payload, content_type = payload.encode(), "text/plain; charset=utf-8"
                elif not isinstance(payload, bytes):
                    payload = b"" if payload is None and answer.status == 204 else json.dumps(payload).encode()
                self.send_response(answer.status)
                headers = {"Content-Type": content_type, **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format, *args) -> None:  # keep test output quiet
                pass

        return RequestHandler
