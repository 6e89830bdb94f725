"""What each kind of event says, checked against the versioned JSON Schema that receivers are given."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator

from bots.command_engine import handle
from bots.platforms.console import WORKSPACE
from bots.types import Invocation
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment
from costs import digest
from costs.demo import seed_costs
from costs.periods import utc_today
from tests.webhooks.conftest import SCHEMA, SECRET, signed

KINDS = ["deploy", "approval", "command", "cost_anomaly"]
DATA = {"deploy.": "deploy", "approval.": "approval", "command.": "command", "cost.": "cost_anomaly"}


def check(payload: dict) -> None:
    """Valid against schema/v1.json, and no field in `data` that the schema does not describe."""
    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(payload)]
    assert not errors, (payload["event"], errors)
    (kind,) = (kind for prefix, kind in DATA.items() if payload["event"].startswith(prefix))
    assert set(payload["data"]) == set(SCHEMA["$defs"][kind]["properties"]), payload["event"]


def test_the_schema_is_valid_and_each_event_data_declares_all_its_fields():
    Draft202012Validator.check_schema(SCHEMA)

    for definition in SCHEMA["$defs"].values():
        assert definition["required"] == list(definition["properties"])


def test_commands_are_emitted_with_their_outcome_and_no_reply_handle(say, receiver, webhook, committed):
    webhook(["command"])

    say("carol", "/deploy web-app staging")
    say("alice", "/whoami")
    with committed():
        handle(
            Invocation.from_line(
                "/help", platform="console", workspace=WORKSPACE, chat_user_id="alice", reply_handle="secret-url"
            )
        )

    assert receiver.events() == ["command.finished"] * 3
    refused, whoami, help_ = (call.json()["data"] for call in receiver.got())
    assert (refused["command"], refused["user"], refused["outcome"]) == ("deploy", "carol", "refused")
    assert refused["args"] == {"service": "web-app", "env": "staging"}
    assert (refused["platform"], refused["chat_user"], refused["deployment_id"]) == ("console", "carol", None)
    assert (whoami["command"], whoami["outcome"]) == ("whoami", "ok")
    assert (help_["command"], help_["user"], help_["outcome"]) == ("help", "alice", "ok")
    assert "secret-url" not in receiver.got()[-1].body.decode()
    assert not Deployment.objects.exists()


def test_cost_anomalies_are_emitted_with_the_digest(catalog, receiver, webhook, committed):
    seed_costs()
    webhook(["cost_anomaly"])

    with committed():
        digest.send()

    assert receiver.events() == ["cost.anomaly"]
    data = receiver.got()[0].json()["data"]
    assert (data["service"], data["day"], data["estimated"]) == ("web-app", str(utc_today() - timedelta(days=1)), True)
    assert data["amount"] > 3 * data["expected"] and data["change"] == pytest.approx(data["amount"] - data["expected"])
    assert data["driver"] == "Amazon Elastic Compute Cloud - Compute" and data["deployment_ids"] == []


def test_every_kind_of_event_matches_the_schema(say, alice, receiver, webhook, committed):
    hook = webhook(KINDS)
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy api prod v3")
    say("bob", f"/approve {Deployment.objects.get(target__service__name='api').pk}")
    say("alice", "/deploy worker prod v1")
    say("bob", f"/reject {Deployment.objects.get(target__service__name='worker').pk} not today")
    say("alice", "/deploy web-app prod v2")
    with committed():
        engine.cancel(alice, Deployment.objects.get(target__service__name="web-app", state="awaiting_approval").pk)
    seed_costs()
    with committed():
        digest.send()

    payloads = [call.json() for call in receiver.got()]
    events = {payload["event"] for payload in payloads}
    assert {"deploy.awaiting_approval", "deploy.queued", "deploy.succeeded", "deploy.rejected"} <= events
    assert "deploy.cancelled" in events
    assert {"approval.approved", "approval.rejected", "command.finished", "cost.anomaly"} <= events
    for payload in payloads:
        check(payload)
    assert all(signed(call) for call in receiver.calls)
    assert SECRET not in "".join(call.body.decode() for call in receiver.calls) and hook.secret == SECRET
