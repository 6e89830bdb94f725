"""While the database is not answering (PostgreSQL restarting, connections cut), every request gets an answer
its client shows, and a warning in the log: never Django's error page.

Chat commands are answered by the engine itself (`bots.command_engine.handle`), and the REST API by its own
exception handler (a 503, `web/api/errors.py`). Whatever else reads the database and meets the outage ends
in `OutageMiddleware`: a view whose client shows no HTML page says how its client is told with
`@answer_with(...)` (Slack, Discord); any other gets a short 503 page, in the command box's own form when the
box asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger("chatops.outage")

# What every client is told while the database is down, restarting or has cut the connection, the chat
# command engine included: {what} is the command ("/deploy"), or what else was asked ("your click").
UNREACHABLE = (
    "ChatOps's database is not answering right now, so {what} may not have gone through. Try again in a moment."
)

Answer = Callable[[HttpRequest], HttpResponse]
View = TypeVar("View", bound=Callable[..., HttpResponse])


def answer_with(answer: Answer) -> Callable[[View], View]:
    """`@answer_with(how)` on a view (outermost): during an outage its request is answered `how(request)`."""

    def mark(view: View) -> View:
        view.outage_answer = answer  # type: ignore[attr-defined]
        return view

    return mark


def page(request: HttpRequest) -> HttpResponse:
    """A page of the dashboard (or the admin, the login...): a short 503 page, rendered without the request
    because the session and the user are in the database too."""
    text = UNREACHABLE.format(what="your request")
    if request.headers.get("X-Requested-With") == "fetch":  # the command box shows it among its answers
        return HttpResponse(render_to_string("web/_answer.html", {"error": text}), status=503)
    return HttpResponse(render_to_string("web/unavailable.html", {"text": text}), status=503)


class OutageMiddleware:
    """Answers a view that met a database that is not answering: as the view says (`answer_with`), or `page`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        # The database's own words name its host and port: they go to the log, not to the client.
        log.warning(
            "%s %s not served: the database is not answering (%s: %s)",
            request.method,
            request.path,
            type(exception).__name__,
            exception,
        )
        match = request.resolver_match
        answer: Answer = getattr(match.func, "outage_answer", page) if match else page
        return answer(request)
