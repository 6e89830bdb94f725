"""POST /github/webhook: signatures on the raw body, each delivery counted once, every real payload handled."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import urlencode

import pytest

from bots.models import CommandRun, ConsoleMessage
from chatops_site.catalog.models import ChannelRoute
from integrations.github import webhooks
from integrations.github.models import DeliveryOutcome, WebhookDelivery
from tests.github.conftest import FIXTURES, SECRET, fixture_bytes, sign

ALL_FIXTURES = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*.json"))
# The real payloads that should reach a channel: the pull request actions worth announcing (no
# drafts) and finished GitHub Deployments. Reviews in the fixtures are only comments.
NOTIFYING = {
    "pull_request/closed.payload.json",
    "pull_request/closed.with-organization.payload.json",
    "pull_request/opened.payload.json",
    "pull_request/opened.with-null-body.json",
    "pull_request/opened.with-organization.payload.json",
    "pull_request/ready_for_review.payload.json",
    "pull_request/ready_for_review.with-installation.payload.json",
    "pull_request/ready_for_review.with-organization.payload.json",
    "pull_request/reopened.payload.json",
    "pull_request/reopened.with-organization.payload.json",
    "pull_request/review_requested.payload.json",
    "deployment_status/payload.json",
    "deployment_status/with-installation.payload.json",
}
OPENED = "pull_request/opened.payload.json"


@pytest.fixture
def everything_to_news(catalog):
    ChannelRoute.objects.create(events=["pull_request", "pull_request_review", "deploy"], channel="console:news")


def test_the_documented_test_vector_verifies(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET  # GitHub's example secret
    webhooks.verify(b"Hello, World!", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


def test_there_are_real_fixtures_for_every_event():
    assert len(ALL_FIXTURES) > 250
    assert set(ALL_FIXTURES) >= NOTIFYING


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_real_payload_is_accepted_recorded_and_handled(name, deliver, everything_to_news):
    event = name.split("/")[0]

    response = deliver(event, fixture_bytes(name), delivery=f"delivery-{name}")

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get(delivery_id=f"delivery-{name}")
    assert delivery.event == event
    assert delivery.outcome in (DeliveryOutcome.HANDLED, DeliveryOutcome.IGNORED), delivery.note
    told = ConsoleMessage.objects.filter(channel="news").count()
    assert told == (1 if name in NOTIFYING else 0), delivery.note


def test_a_redelivery_is_counted_once(deliver, everything_to_news):
    first = deliver("pull_request", fixture_bytes(OPENED), delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    again = deliver("pull_request", fixture_bytes(OPENED), delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")

    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert WebhookDelivery.objects.count() == 1
    assert ConsoleMessage.objects.filter(channel="news").count() == 1


def test_ping_is_answered(deliver, db):
    response = deliver("ping", fixture_bytes("ping/payload.json"))

    assert response.status_code == 200
    assert response.json()["event"] == "ping"
    assert WebhookDelivery.objects.get().outcome == DeliveryOutcome.HANDLED


def test_the_view_only_records_and_enqueues(client, settings, db, monkeypatch, django_capture_on_commit_callbacks):
    settings.GITHUB_WEBHOOK_SECRET = "s3cret"
    queued = []
    monkeypatch.setattr("chatops_site.queue.async_task", lambda *args, **kwargs: queued.append(args))
    body = fixture_bytes(OPENED)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/github/webhook",
            data=body,
            content_type="application/json",
            headers={
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": "d-1",
                "X-Hub-Signature-256": sign(body, "s3cret"),
            },
        )

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert queued == [("integrations.github.events.handle", delivery.pk)]
    assert delivery.outcome == DeliveryOutcome.RECEIVED


def test_a_form_encoded_delivery_is_read_from_its_payload_field(client, settings, db):
    settings.GITHUB_WEBHOOK_SECRET = "s3cret"
    body = urlencode({"payload": fixture_bytes("ping/payload.json").decode()}).encode()

    response = client.post(
        "/github/webhook",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-2", "X-Hub-Signature-256": sign(body, "s3cret")},
    )

    assert response.status_code == 200
    assert WebhookDelivery.objects.get().event == "ping"


# Refused deliveries


@pytest.fixture
def refused(deliver, caplog, everything_to_news):
    """Post a delivery expected to be refused; check nothing was recorded, handled or logged with its body."""

    def refused(body: bytes, signature: str | None, status: int = 401):
        caplog.set_level(logging.INFO, logger="chatops")
        response = deliver("pull_request", body, delivery="refused-1", signature=signature)
        assert response.status_code == status
        assert WebhookDelivery.objects.count() == 0
        assert ConsoleMessage.objects.count() == 0
        assert CommandRun.objects.count() == 0
        assert "Codertocat" not in caplog.text  # the body never reaches the log
        return response, caplog

    return refused


def test_a_signature_made_with_another_secret_is_refused(refused):
    body = fixture_bytes(OPENED)

    response, log = refused(body, sign(body, "not the secret"))

    assert "does not match" in response.json()["error"]
    assert [r.message for r in log.records if "refused GitHub delivery" in r.message] != []


def test_a_reserialized_body_does_not_match_the_signature_of_the_original(refused):
    original = fixture_bytes(OPENED)
    reserialized = json.dumps(json.loads(original)).encode()

    refused(reserialized, sign(original))


def test_a_delivery_without_a_signature_is_refused(refused):
    refused(fixture_bytes(OPENED), "")


@pytest.mark.parametrize("signature", ["sha1=0123", "sha256=", "sha256=é" + "0" * 63])
def test_malformed_signatures_are_refused(refused, signature):
    refused(fixture_bytes(OPENED), signature)


def test_without_a_secret_webhooks_are_off(refused, settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    body = fixture_bytes(OPENED)

    response, _ = refused(body, sign(body, ""), status=404)

    assert "GITHUB_WEBHOOK_SECRET is not set" in response.json()["error"]


def test_a_signed_body_that_is_not_json_is_a_bad_request(refused):
    refused(b"<xml/>", sign(b"<xml/>"), status=400)


def test_a_delivery_without_its_id_is_a_bad_request(client, settings, db):
    settings.GITHUB_WEBHOOK_SECRET = "s3cret"
    body = fixture_bytes(OPENED)

    response = client.post(
        "/github/webhook",
        data=body,
        content_type="application/json",
        headers={"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": sign(body, "s3cret")},
    )

    assert response.status_code == 400


def test_only_post_is_served(client, db):
    assert client.get("/github/webhook").status_code == 405


def test_a_valid_sha1_signature_alone_is_refused(client, settings, db, caplog, everything_to_news):
    """GitHub still sends the legacy `X-Hub-Signature` (HMAC-SHA1); only the SHA-256 one is trusted."""
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    caplog.set_level(logging.INFO, logger="chatops")
    body = fixture_bytes(OPENED)
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()

    response = client.post(
        "/github/webhook",
        data=body,
        content_type="application/json",
        headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "sha1-only", "X-Hub-Signature": sha1},
    )

    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0 and ConsoleMessage.objects.count() == 0
    (line,) = [r.getMessage() for r in caplog.records if r.name == "chatops.github"]
    assert "refused GitHub delivery 'sha1-only'" in line
    assert "Codertocat" not in caplog.text
