"""`/metrics`: counters that move with commands, deployments, webhooks and outside calls; bearer protection."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bots.platforms import post_to_channel
from bots.types import Reply
from chatops_site import metrics
from chatops_site.demo import seed_catalog
from integrations.http import session
from tests.services import database_url
from tests.stubs import Answer, StubServer
from tests.stubs.discord_api import DiscordStub
from tests.stubs.slack_api import BOT_TOKEN, SlackApi

ROOT = Path(__file__).resolve().parents[2]


def scrape(text: str) -> dict[tuple, float]:
    """{(sample name, (label, value), ...): value} from the text Prometheus reads."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return found


def value(page: dict, name: str, **labels) -> float:
    return page.get((name, *sorted(labels.items())), 0.0)


@pytest.fixture
def read(client):
    def read() -> dict:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return scrape(response.content.decode())

    return read


def test_the_command_counter_grows_after_commands(read, say):
    deploy = dict(command="deploy", platform="console", outcome="ok")
    before = read()

    say("alice", "/deploy web-app staging")
    say("alice", "/deploy web-app staging v2")
    say("carol", "/deploy web-app staging")
    say("alice", "/frobnicate")
    after = read()

    assert value(after, "chatops_commands_total", **deploy) == value(before, "chatops_commands_total", **deploy) + 2
    refused = dict(command="deploy", platform="console", outcome="refused")
    assert value(after, "chatops_commands_total", **refused) - value(before, "chatops_commands_total", **refused) == 1
    # Typed names that are no command share one label, so a flood of nonsense adds no series.
    unknown = dict(command="unknown", platform="console", outcome="invalid")
    assert value(after, "chatops_commands_total", **unknown) - value(before, "chatops_commands_total", **unknown) == 1
    latency = "chatops_command_duration_seconds_count"
    assert value(after, latency, **deploy) - value(before, latency, **deploy) == 2


def test_finished_deployments_are_counted_by_provider_and_result(read, say):
    succeeded, failed = dict(provider="simulated", result="succeeded"), dict(provider="simulated", result="failed")
    before = read()

    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy api staging v1-fail")
    after = read()

    for labels in (succeeded, failed):
        assert (
            value(after, "chatops_deployments_total", **labels) - value(before, "chatops_deployments_total", **labels)
            == 1
        )
        durations = "chatops_deployment_duration_seconds_count"
        assert value(after, durations, **labels) - value(before, durations, **labels) == 1


def test_a_deployment_that_never_started_is_counted_without_a_duration(read, say):
    rejected = dict(provider="simulated", result="rejected")
    before = read()

    asked = say("alice", "/deploy web-app prod")
    say("bob", f"/reject {asked.key.removeprefix('deployment:')} not today")
    after = read()

    assert (
        value(after, "chatops_deployments_total", **rejected) - value(before, "chatops_deployments_total", **rejected)
        == 1
    )
    durations = "chatops_deployment_duration_seconds_count"
    assert value(after, durations, **rejected) == value(before, durations, **rejected)


def test_webhook_deliveries_are_counted_by_source_and_outcome(read):
    before = read()

    metrics.webhook_delivery("github", "accepted")
    metrics.webhook_delivery("github", "accepted")
    metrics.webhook_delivery("slack", "bad_signature")
    after = read()

    github = dict(source="github", outcome="accepted")
    assert (
        value(after, "chatops_webhook_deliveries_total", **github)
        - value(before, "chatops_webhook_deliveries_total", **github)
        == 2
    )
    slack = dict(source="slack", outcome="bad_signature")
    assert (
        value(after, "chatops_webhook_deliveries_total", **slack)
        - value(before, "chatops_webhook_deliveries_total", **slack)
        == 1
    )


@pytest.mark.parametrize(
    "source, path",
    [("github", "/github/webhook"), ("slack", "/slack/commands"), ("discord", "/discord/interactions")],
)
def test_each_webhook_endpoint_counts_the_deliveries_it_refuses(read, client, settings, source, path):
    settings.GITHUB_WEBHOOK_SECRET = settings.SLACK_SIGNING_SECRET = "configured"
    settings.DISCORD_PUBLIC_KEY = "ab" * 32
    before = value(read(), "chatops_webhook_deliveries_total", source=source, outcome="bad_signature")

    assert client.post(path, data=b"{}", content_type="application/json").status_code == 401

    after = value(read(), "chatops_webhook_deliveries_total", source=source, outcome="bad_signature")
    assert after - before == 1


def test_outside_calls_and_errors_are_counted_by_system(read):
    with StubServer() as stub:
        stub.route("GET", r"/ok", lambda call: {"ok": True})
        stub.route("GET", r"/down", lambda call: Answer(503, {"error": "maintenance"}))
        before = read()
        outside = session("stubbed")
        outside.get(stub.url + "/ok")
        outside.get(stub.url + "/down")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(requests.ConnectionError):
        session("stubbed").get(f"http://127.0.0.1:{port}/")
    after = read()

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("chatops_outside_calls_total", system="stubbed", status="2xx") == 1
    assert grew("chatops_outside_calls_total", system="stubbed", status="5xx") == 1
    assert grew("chatops_outside_calls_total", system="stubbed", status="none") == 1
    assert grew("chatops_outside_errors_total", system="stubbed", kind="server") == 1
    assert grew("chatops_outside_errors_total", system="stubbed", kind="connection") == 1
    assert grew("chatops_outside_call_duration_seconds_count", system="stubbed") == 2


def test_slack_and_discord_calls_are_counted_as_outside_calls(read, db, settings):
    with SlackApi() as slack, DiscordStub() as discord:
        settings.SLACK_API_URL, settings.SLACK_BOT_TOKEN = slack.api_url, BOT_TOKEN
        settings.DISCORD_API_URL, settings.DISCORD_BOT_TOKEN = discord.url, discord.bot_token
        before = read()
        post_to_channel("slack:C0DEPLOY", Reply("Deploy #7 succeeded", public=True))
        post_to_channel("discord:1122", Reply("Deploy #7 succeeded", public=True))
        after = read()

    for system in ("slack", "discord"):
        calls = dict(system=system, status="2xx")
        assert (
            value(after, "chatops_outside_calls_total", **calls) - value(before, "chatops_outside_calls_total", **calls)
            == 1
        )


def test_the_queue_depth_is_reported(read, db):
    page = read()

    assert [key for key in page if key[0] == "chatops_queue_depth"] == [("chatops_queue_depth", ("queue", "chatops"))]


def test_with_a_bearer_token_only_its_holder_reads_the_metrics(client, settings, db):
    settings.METRICS_BEARER_TOKEN = "s3cret-scrape-token"

    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")

    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"chatops_commands" not in missing.content and b"chatops_commands" in right.content


@pytest.mark.django_db(transaction=True)
def test_processes_sharing_a_metrics_directory_are_added_up(tmp_path):
    """Two console processes count a command each; a third, like gunicorn's /metrics, reports both."""
    seed_catalog(delay="0s")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
        "DATABASE_URL": database_url(),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)

    for user in ("alice", "bob"):
        assert run("chatops", "--as", user, "/whoami").returncode == 0
    show = "from prometheus_client import generate_latest; from chatops_site import metrics; "
    page = run("shell", "-v", "0", "-c", show + "print(generate_latest(metrics.registry()).decode())")

    assert page.returncode == 0, page.stderr
    whoami = dict(command="whoami", platform="console", outcome="ok")
    assert value(scrape(page.stdout), "chatops_commands_total", **whoami) == 2
