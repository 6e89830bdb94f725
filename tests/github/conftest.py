"""The GitHub stub wired into settings, signed webhook deliveries, and GitHub Actions targets."""

from __future__ import annotations

import ast
import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
from django_q.models import Schedule

from bots.models import ConsoleMessage
from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys import tasks
from tests.stubs.github_api import GitHubStub

# Real payloads from octokit/webhooks (MIT; see the LICENSE beside them).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github-webhooks"
SECRET = "It's a Secret to Everybody"


def fixture_bytes(name: str) -> bytes:
    """A real payload, exactly as stored: `fixture_bytes("pull_request/opened.payload.json")`."""
    return (FIXTURES / name).read_bytes()


def fixture(name: str) -> dict:
    return json.loads(fixture_bytes(name))


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def said(channel: str = "ops") -> list[str]:
    """What was posted to a console channel, oldest first."""
    return list(ConsoleMessage.objects.filter(channel=channel).values_list("text", flat=True))


@pytest.fixture
def github(settings):
    """The GitHub API stub, with this installation configured as its GitHub App."""
    with GitHubStub() as stub:
        settings.GITHUB_API_URL = stub.url
        settings.GITHUB_APP_ID = stub.app_id
        settings.GITHUB_APP_PRIVATE_KEY = stub.private_pem
        settings.GITHUB_APP_PRIVATE_KEY_PATH = ""
        settings.GITHUB_TOKEN = ""
        yield stub


@pytest.fixture
def deliver(client, settings, django_capture_on_commit_callbacks):
    """`deliver("pull_request", body)` posts a delivery signed as GitHub signs it and runs its handling."""
    settings.GITHUB_WEBHOOK_SECRET = SECRET

    def deliver(event: str, body: bytes | dict, delivery: str | None = None, signature: str | None = None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4())}
        headers["X-Hub-Signature-256"] = sign(raw) if signature is None else signature
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/github/webhook", data=raw, content_type="application/json", headers=headers)

    return deliver


@pytest.fixture
def actions_target(catalog, github):
    """web-app/staging deploys through the `deploy.yml` workflow of acme/web-app; news goes to console:ops.

    The versions these tests deploy are tags on the stub's main, so that deployments pin to real commits.
    """
    for repository, tag in (("acme/web-app", "v1.4.0"), ("acme/web-app", "v1"), ("acme/api", "v7")):
        github.tag(repository, tag, github.head(repository))
    target = DeployTarget.objects.get(service__name="web-app", environment__name="staging")
    target.provider = "github_actions"
    target.settings = {"workflow": "deploy.yml", "ref": "main"}
    target.save()
    return target


@pytest.fixture
def run_scheduled_checks(django_capture_on_commit_callbacks):
    """Run the status checks the deploy engine booked for later, as the scheduler would when they fall due."""

    def run() -> int:
        due = list(Schedule.objects.filter(func="chatops_site.deploys.tasks.check"))
        Schedule.objects.filter(pk__in=[s.pk for s in due]).delete()
        with django_capture_on_commit_callbacks(execute=True):
            for booked in due:
                tasks.check(*ast.literal_eval(booked.args))
        return len(due)

    return run


def workflow_run_payload(run: dict, action: str = "completed") -> dict:
    """A real `workflow_run` delivery, carrying the stub's run."""
    payload = copy.deepcopy(fixture("workflow_run/completed.payload.json"))
    payload["action"] = action
    payload["workflow_run"].update(copy.deepcopy({k: v for k, v in run.items() if k != "artifacts"}))
    payload["repository"]["full_name"] = run["repository"]["full_name"]
    return payload
