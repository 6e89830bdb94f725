"""The dashboard and the REST API show what a deployment ships: its pinned commit, the commits since what
runs on the target, and the overview's Approve approves exactly that commit."""

from __future__ import annotations

import pytest

from chatops_site.deploys.models import Deployment, State


@pytest.fixture
def waiting(web_app, say):
    say("alice", "/deploy web-app prod v1")
    Deployment.objects.filter(version="v1").update(state=State.SUCCEEDED)
    say("alice", "/deploy web-app prod main")
    return Deployment.objects.get(version="main")


def test_the_overview_card_lists_the_commits_and_approves_the_pinned_one(waiting, web_app, client_as, command):
    head = web_app.shas[-1]
    page = client_as("bob").get("/").text

    assert f'Ships <code title="{head}">{head[:7]}</code>: 2 new commits since {web_app.shas[0][:7]}' in page
    assert "Add the cart (#12)" in page and "Fix the cart total" in page
    assert f'value="/approve {waiting.pk} {head[:7]}"' in page
    assert "approved by bob" in command("bob", f"/approve {waiting.pk} {head[:7]}").text


def test_the_deployment_page_shows_the_commits(waiting, client_as):
    page = client_as("carol").get(f"/deployments/{waiting.pk}/").text

    assert "2 new commits since" in page and "Fix the cart total" in page


def test_the_rest_api_has_the_commit_its_base_and_the_changes(waiting, web_app, alice, api_key, client):
    body = client.get(f"/api/v1/deployments/{waiting.pk}/", headers={"Authorization": f"Token {api_key(alice)}"}).json()

    assert (body["commit_sha"], body["base_sha"], body["pinning"]) == (web_app.shas[-1], web_app.shas[0], False)
    assert body["changes"]["total"] == 2
    assert [c["title"] for c in body["changes"]["commits"]] == ["Fix the cart total", "Add the cart (#12)"]
