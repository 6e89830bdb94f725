"""The dashboard shows what runs where only to those who may view it (and their own deployments)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from chatops_site.catalog.models import Action, Environment, Grant, Service


def test_a_user_without_grants_sees_no_targets_and_no_pending_deploys(client_as, say):
    say("alice", "/deploy web-app prod v9")  # waits for approval
    get_user_model().objects.create(username="dave")

    overview = client_as("dave").get("/").text
    services = client_as("dave").get("/services/").text

    assert "v9" not in overview and "Nothing waits for approval." in overview
    assert "No services yet" in overview
    assert "No services yet." in services and "acme/web-app" not in services


def test_a_grant_on_one_target_shows_that_cell_only(client_as, say):
    say("alice", "/deploy api staging v3")
    say("alice", "/deploy web-app staging v4")
    dave = get_user_model().objects.create(username="dave")
    api, staging = Service.objects.get(name="api"), Environment.objects.get(name="staging")
    Grant.objects.create(user=dave, action=Action.VIEW, service=api, environment=staging)

    overview = client_as("dave").get("/").text

    assert "v3" in overview
    assert "v4" not in overview
