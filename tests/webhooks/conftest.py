"""A webhook receiver (a real HTTP server on 127.0.0.1, as n8n would be) and webhooks that point at it."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

import chatops_site.webhooks
from chatops_site.webhooks import tasks
from chatops_site.webhooks.models import Webhook, WebhookDelivery
from tests.stubs import Answer, Call, StubServer

SECRET = "n8n-shared-secret"
SCHEMA = json.loads((Path(chatops_site.webhooks.__file__).parent / "schema" / "v1.json").read_text())


class Receiver(StubServer):
    """Answers every POST with `status`; `events(path)` lists the event names it got there, in order."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.status = 200
        self.route("POST", r"/[\w-]*", lambda call: Answer(self.status, {"received": self.status < 300}))

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def at(self, path: str = "hook") -> str:
        return f"{self.url}/{path}"

    def got(self, path: str = "hook") -> list[Call]:
        return [call for call in self.calls if call.path == f"/{path}"]

    def events(self, path: str = "hook") -> list[str]:
        return [call.header("X-ChatOps-Event") for call in self.got(path)]


def signed(call: Call, secret: str = SECRET) -> bool:
    """What a receiver checks: the HMAC of the raw bytes received, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), call.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, call.header("X-ChatOps-Signature-256"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def webhook(db, receiver):
    """`webhook(["deploy"])`: an active webhook to the receiver (at /hook, or `path`) with SECRET."""

    def make(events=("deploy",), path: str = "hook", name: str = "n8n", url: str = "") -> Webhook:
        hook = Webhook(name=name, url=url or receiver.at(path), events=list(events))
        hook.secret = SECRET
        hook.save()
        return hook

    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): ...` runs the tasks the block queued, as if its transaction had committed."""
    return functools.partial(django_capture_on_commit_callbacks, execute=True)


@pytest.fixture
def sweep(committed):
    """Time moves on, not the clock: every booked attempt is made due, then the minute sweep runs and the
    attempts it queues with it."""

    def run() -> None:
        WebhookDelivery.objects.filter(next_attempt_at__isnull=False).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        with committed():
            tasks.sweep()

    return run
