"""While someone types an option, Discord asks for suggestions: from the catalog and recent deploys."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from bots.models import CommandRun
from chatops_site.catalog.models import DeployTarget, Environment, Grant, Service
from chatops_site.deploys.models import Deployment, State
from tests.deploys.helpers import target_of
from tests.discord.conftest import interaction


def typing(command: str, option: str, typed: str, **given) -> dict:
    options = [{"name": k, "type": 3, "value": v} for k, v in given.items()]
    options.append({"name": option, "type": 3, "value": typed, "focused": True})
    return interaction(4, "alice", {"id": "5001", "name": command, "type": 1, "options": options})


def suggested(answer: dict) -> list[str]:
    assert answer["type"] == 8
    assert all(c["name"] == c["value"] for c in answer["data"]["choices"])
    return [c["value"] for c in answer["data"]["choices"]]


@pytest.fixture(autouse=True)
def fresh_minute():
    """Each test starts with no lookups counted against its users."""
    cache.clear()


@pytest.fixture
def history(alice):
    """Deployments of web-app: v1 and v2 to staging, v3 to prod (newest last)."""
    for version, env in [("v1", "staging"), ("v2", "staging"), ("v3", "prod")]:
        Deployment.objects.create(
            target=target_of("web-app", env), version=version, state="succeeded", requested_by=alice
        )


def test_services_are_suggested_matching_what_was_typed(interact):
    assert suggested(interact(typing("deploy", "service", ""))) == ["api", "web-app", "worker"]
    assert suggested(interact(typing("deploy", "service", "w"))) == ["web-app", "worker"]
    assert suggested(interact(typing("deploy", "service", "app"))) == ["web-app"]


def test_names_that_start_with_the_typed_text_come_first(interact):
    gateway = Service.objects.create(name="gateway-api")
    DeployTarget.objects.create(service=gateway, environment=Environment.objects.get(name="dev"))
    assert suggested(interact(typing("status", "service", "api"))) == ["api", "gateway-api"]


def test_environments_come_in_pipeline_order_and_only_where_the_service_deploys(interact):
    assert suggested(interact(typing("deploy", "environment", ""))) == ["dev", "staging", "prod"]
    target_of("worker", "dev").delete()
    assert suggested(interact(typing("deploy", "environment", "", service="worker"))) == ["staging", "prod"]


def test_versions_are_the_recently_deployed_ones_newest_first_then_the_default_ref(interact, history):
    assert suggested(interact(typing("deploy", "version", "", service="web-app"))) == ["v3", "v2", "v1", "main"]
    assert suggested(interact(typing("rollback", "version", "", service="web-app", environment="staging"))) == [
        "v2",
        "v1",
        "main",
    ]
    assert suggested(interact(typing("deploy", "version", "2", service="web-app"))) == ["v2"]


def test_at_most_25_choices_are_offered(interact, alice):
    target = target_of("api", "dev")
    Deployment.objects.bulk_create(
        Deployment(target=target, version=f"v{n}", state=State.SUCCEEDED, requested_by=alice) for n in range(40)
    )
    assert len(suggested(interact(typing("deploy", "version", "v", service="api")))) == 25


def test_other_options_get_no_suggestions_and_nothing_is_recorded(interact):
    assert suggested(interact(typing("lock", "reason", "fr"))) == []
    assert not CommandRun.objects.exists()


def test_an_unlinked_user_gets_no_suggestions(interact):
    stranger = typing("deploy", "service", "")
    stranger["member"]["user"]["id"] = "999999"

    assert suggested(interact(stranger)) == []


def test_suggestions_are_only_of_what_the_user_may_view(interact, alice, history):
    Grant.objects.filter(user=alice).delete()
    Grant.objects.create(user=alice, action="view", service=Service.objects.get(name="web-app"))
    Grant.objects.create(
        user=alice,
        action="view",
        service=Service.objects.get(name="api"),
        environment=Environment.objects.get(name="dev"),
    )

    assert suggested(interact(typing("deploy", "service", ""))) == ["api", "web-app"]
    assert suggested(interact(typing("deploy", "environment", "", service="api"))) == ["dev"]
    assert "v3" in suggested(interact(typing("deploy", "version", "v", service="web-app")))


def test_a_user_typing_too_fast_gets_no_suggestions_for_the_rest_of_the_minute(interact, monkeypatch):
    monkeypatch.setattr("bots.platforms.discord.autocomplete.PER_MINUTE", 2)

    answers = [suggested(interact(typing("deploy", "service", ""))) for _ in range(3)]

    assert answers[:2] == [["api", "web-app", "worker"]] * 2
    assert answers[2] == []
