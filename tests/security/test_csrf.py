"""CSRF: a logged-in browser's writes need the token, on the dashboard and on the API it calls with its session.

The REST API also takes the session (DRF's SessionAuthentication, beside tokens); DRF checks CSRF itself
for session-authenticated writes, and these tests show that it does.
"""

from __future__ import annotations

import pytest
from django.test import Client

from bots.models import CommandRun
from chatops_site.deploys.models import Deployment, Lock, State
from chatops_site.web.models import ApiToken
from tests.security.conftest import csrf_token

# The dashboard's forms


def test_the_command_box_refuses_a_post_without_the_token(browser):
    response = browser("alice").post("/command/", {"line": "/deploy web-app staging"})

    assert response.status_code == 403
    assert not CommandRun.objects.exists() and not Deployment.objects.exists()


def test_the_command_box_runs_a_post_with_the_token(browser):
    alice = browser("alice")

    response = alice.post(
        "/command/",
        {"line": "/whoami", "csrfmiddlewaretoken": csrf_token(alice)},
        headers={"X-Requested-With": "fetch"},
    )

    assert response.status_code == 200
    assert CommandRun.objects.get().user.username == "alice"


def test_making_an_api_token_on_the_profile_needs_the_token(browser, alice):
    page = browser("alice")

    refused = page.post("/profile/tokens/", {"name": "ci"})
    assert refused.status_code == 403
    assert not ApiToken.objects.exists()

    done = page.post("/profile/tokens/", {"name": "ci", "csrfmiddlewaretoken": csrf_token(page)})
    assert done.status_code == 201
    assert ApiToken.objects.get().name == "ci"


def test_revoking_an_api_token_on_the_profile_needs_the_token(browser, alice):
    token, _ = ApiToken.issue(alice, "ci")
    page = browser("alice")

    refused = page.post("/profile/tokens/revoke/", {"token": token.pk})
    assert refused.status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()

    done = page.post("/profile/tokens/revoke/", {"token": token.pk, "csrfmiddlewaretoken": csrf_token(page)})
    assert done.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()


# The REST API with the session


@pytest.fixture
def waiting(say) -> Deployment:
    """alice's deploy of web-app v9 to prod, waiting for approval."""
    say("alice", "/deploy web-app prod v9")
    return Deployment.objects.get(state=State.AWAITING_APPROVAL)


@pytest.fixture
def locked(say) -> Lock:
    say("bob", "/lock api dev maintenance")
    return Lock.objects.get()


def _writes(waiting: Deployment, locked: Lock) -> dict[str, tuple[str, str, str, dict, int]]:
    """Each session write of the API: who, method, path, body, and the answer it gets with the token."""
    return {
        "deploy": (
            "alice",
            "post",
            "/api/v1/deployments/",
            {"service": "web-app", "environment": "staging", "action": "deploy"},
            202,
        ),
        "approve": ("bob", "post", f"/api/v1/deployments/{waiting.pk}/approve/", {}, 200),
        "reject": ("bob", "post", f"/api/v1/deployments/{waiting.pk}/reject/", {"reason": "not now"}, 200),
        "cancel": ("alice", "post", f"/api/v1/deployments/{waiting.pk}/cancel/", {}, 200),
        "lock": ("bob", "post", "/api/v1/locks/", {"service": "web-app", "environment": "dev"}, 201),
        "unlock": ("bob", "delete", f"/api/v1/locks/{locked.pk}/", {}, 200),
    }


def _state(waiting: Deployment, locked: Lock) -> tuple:
    waiting.refresh_from_db()
    locked.refresh_from_db()
    return Deployment.objects.count(), waiting.state, Lock.objects.count(), locked.released_at


@pytest.mark.parametrize("write", ["deploy", "approve", "reject", "cancel", "lock", "unlock"])
def test_an_api_write_with_the_session_needs_the_token(browser, waiting, locked, write):
    username, method, path, body, status = _writes(waiting, locked)[write]
    page = browser(username)
    before = _state(waiting, locked)

    refused = getattr(page, method)(path, body, content_type="application/json")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert _state(waiting, locked) == before

    done = getattr(page, method)(path, body, content_type="application/json", headers={"X-CSRFToken": csrf_token(page)})

    assert done.status_code == status, done.json()
    assert _state(waiting, locked) != before


def test_a_write_with_an_api_token_needs_no_csrf_token(catalog, alice, api_key):
    """Scripts send `Authorization: Token`: no browser carries that on its own, so no CSRF check applies."""
    script = Client(enforce_csrf_checks=True)
    key = api_key(alice)

    response = script.post(
        "/api/v1/deployments/",
        {"service": "web-app", "environment": "staging", "action": "deploy"},
        content_type="application/json",
        headers={"Authorization": f"Token {key}"},
    )

    assert response.status_code == 202
