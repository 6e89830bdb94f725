"""The deployments list and a deployment's page: timeline, approval, links, and the buttons people may press."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from chatops_site.deploys.models import Deployment, State


@pytest.fixture
def deployed(say):
    """web-app v1 then v2 in staging (both succeed), and api v3 waiting for approval in prod."""
    say("alice", "/deploy web-app staging v1")
    say("bob", "/deploy web-app staging v2")
    say("alice", "/deploy api prod v3")
    return {d.version: d for d in Deployment.objects.all()}


def listed(response) -> list[str]:
    return re.findall(r"<code>(v\d)</code>", response.text)


@pytest.mark.parametrize(
    "query, versions",
    [
        ("", ["v3", "v2", "v1"]),
        ("?service=web-app", ["v2", "v1"]),
        ("?environment=prod", ["v3"]),
        ("?state=awaiting_approval", ["v3"]),
        ("?requested_by=bob", ["v2"]),
        ("?since=2000-01-01&until=2000-01-02", []),
    ],
)
def test_the_list_filters_by_name(client_as, deployed, query, versions):
    assert listed(client_as("carol").get(f"/deployments/{query}")) == versions


def test_a_deployment_page_shows_its_timeline_artifact_and_duration(client_as, deployed):
    page = client_as("carol").get(f"/deployments/{deployed['v2'].pk}/").text

    states = re.findall(r"<strong>([a-z ]+)</strong>", page)
    assert states == ["queued", "dispatching", "running", "succeeded"]
    assert "registry.local/web-app:v2" in page and "Duration" in page
    assert "sim-" in page and "(this one)" in page


def test_an_approved_deployment_shows_who_approved_it(client_as, deployed, say):
    say("bob", f"/approve {deployed['v3'].pk}")
    page = client_as("carol").get(f"/deployments/{deployed['v3'].pk}/").text
    assert re.search(r"Approved by</dt><dd>bob", page)


def test_rollback_buttons_appear_only_for_those_who_may_roll_back(client_as, deployed):
    current, earlier = deployed["v2"], deployed["v1"]
    alice = client_as("alice")
    assert 'value="/rollback web-app staging"' in alice.get(f"/deployments/{current.pk}/").text
    assert 'value="/rollback web-app staging v1"' in alice.get(f"/deployments/{earlier.pk}/").text
    assert "/rollback" not in client_as("carol").get(f"/deployments/{current.pk}/").text


def test_the_rollback_button_rolls_back_through_the_engine(command, deployed):
    command("alice", "/rollback web-app staging")
    rollback = Deployment.objects.get(kind="rollback")
    assert (rollback.version, rollback.state, rollback.rollback_of) == ("v1", State.SUCCEEDED, deployed["v2"])


def test_approval_buttons_on_the_deployment_page_only_for_another_approver(client_as, deployed):
    waiting = deployed["v3"]
    assert f'value="/approve {waiting.pk}"' in client_as("bob").get(f"/deployments/{waiting.pk}/").text
    assert f'value="/approve {waiting.pk}"' not in client_as("alice").get(f"/deployments/{waiting.pk}/").text


def test_without_a_view_grant_others_deployments_are_not_found(client_as, deployed):
    get_user_model().objects.create(username="dave")
    dave = client_as("dave")
    assert dave.get(f"/deployments/{deployed['v1'].pk}/").status_code == 404
    assert listed(dave.get("/deployments/")) == []


def test_deployment_pages_are_keyset_paginated(client_as, deploy_many):
    first = client_as("alice").get("/deployments/")
    older = re.search(r'href="\?(after=[^"]*)" rel="next"', first.text).group(1)
    second = client_as("alice").get(f"/deployments/?{older}")
    assert len(listed(first)) == 50 and len(listed(second)) == 10


@pytest.fixture
def deploy_many(alice):
    from chatops_site.catalog.models import DeployTarget

    target = DeployTarget.objects.get(service__name="web-app", environment__name="dev")
    Deployment.objects.bulk_create(
        Deployment(target=target, version=f"v{i % 10}", state=State.SUCCEEDED, requested_by=alice) for i in range(60)
    )
