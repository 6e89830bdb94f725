"""Every endpoint for alice (deployer), bob (approver), carol (viewer) and anonymous: who gets what status.

Anonymous callers get 401 everywhere; reads need a login (and `view` for costs); writes need the
grant the same action needs in chat, and the engine's rules (four eyes) apply on top.
"""

from __future__ import annotations

import pytest

ANONYMOUS = None
PERSONAS = ["alice", "bob", "carol", ANONYMOUS]


def statuses(api, method: str, url: str, body=None, setup=None) -> dict:
    """The status each persona gets for the same request, each on a fresh copy of `setup`'s state."""
    found = {}
    for who in PERSONAS:
        path = url.format(**setup()) if setup else url
        found[who] = getattr(api(who), method)(path, body, format="json").status_code
    return found


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/services/",
        "/api/v1/services/web-app/",
        "/api/v1/environments/",
        "/api/v1/deployments/",
        "/api/v1/commands/",
        "/api/v1/locks/",
        "/api/v1/freezes/",
        "/api/v1/costs/daily/",
        "/api/v1/costs/summary/",
    ],
)
def test_every_persona_may_read_and_anonymous_may_not(api, url):
    assert statuses(api, "get", url) == {"alice": 200, "bob": 200, "carol": 200, ANONYMOUS: 401}


def test_anonymous_is_asked_for_a_token(api):
    response = api(ANONYMOUS).get("/api/v1/deployments/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_a_wrong_token_is_refused(api):
    client = api(ANONYMOUS)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get("/api/v1/services/").json() == {"detail": "Invalid token."}


def test_a_user_without_any_grant_may_not_read_costs(api):
    for url in ("/api/v1/costs/daily/", "/api/v1/costs/summary/"):
        response = api("dave").get(url)
        assert response.status_code == 403
        assert response.json()["detail"] == "dave may not view history: ask an admin for the 'view' grant."


def test_a_deployment_is_seen_by_viewers_and_its_requester_only(api, waiting):
    url = f"/api/v1/deployments/{waiting.pk}/"
    assert statuses(api, "get", url) == {"alice": 200, "bob": 200, "carol": 200, ANONYMOUS: 401}
    assert api("dave").get(url).status_code == 404


@pytest.mark.parametrize(
    "environment, expected",
    [
        ("staging", {"alice": 202, "bob": 202, "carol": 403, ANONYMOUS: 401}),
        ("prod", {"alice": 202, "bob": 403, "carol": 403, ANONYMOUS: 401}),
    ],
)
def test_deploying_needs_the_deploy_grant(api, environment, expected):
    body = {"service": "web-app", "environment": environment, "action": "deploy"}
    assert statuses(api, "post", "/api/v1/deployments/", body) == expected


def test_rolling_back_needs_the_rollback_grant(api):
    api("alice").post("/api/v1/deployments/", {"service": "api", "environment": "dev", "action": "deploy"})
    # what that deploy shipped (the default ref) is the version a rollback may name
    body = {"service": "api", "environment": "dev", "version": "main", "action": "rollback"}
    assert statuses(api, "post", "/api/v1/deployments/", body) == {
        "alice": 202,
        "bob": 403,
        "carol": 403,
        ANONYMOUS: 401,
    }


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_only_someone_else_with_the_approve_grant_decides(api, decision):
    def waiting():
        body = {"service": "web-app", "environment": "prod", "action": "deploy"}
        return {"id": api("alice").post("/api/v1/deployments/", body, format="json").json()["id"]}

    url = f"/api/v1/deployments/{{id}}/{decision}/"
    assert statuses(api, "post", url, setup=waiting) == {"alice": 403, "bob": 200, "carol": 403, ANONYMOUS: 401}


def test_the_requester_or_an_approver_may_cancel(api):
    def waiting():
        body = {"service": "web-app", "environment": "prod", "action": "deploy"}
        return {"id": api("alice").post("/api/v1/deployments/", body, format="json").json()["id"]}

    url = "/api/v1/deployments/{id}/cancel/"
    assert statuses(api, "post", url, setup=waiting) == {"alice": 200, "bob": 200, "carol": 403, ANONYMOUS: 401}


def test_locking_needs_the_lock_grant(api):
    body = {"service": "api", "environment": "prod", "reason": "release freeze"}
    # The grant is checked before the target's state, so those after bob are refused for the grant too.
    assert statuses(api, "post", "/api/v1/locks/", body) == {"alice": 403, "bob": 201, "carol": 403, ANONYMOUS: 401}


def test_unlocking_needs_the_lock_grant(api):
    def locked():
        body = {"service": "api", "environment": "prod"}
        response = api("bob").post("/api/v1/locks/", body, format="json")
        if response.status_code == 409:  # still locked: the refusal before left it in place
            return {"id": api("bob").get("/api/v1/locks/").json()[0]["id"]}
        return {"id": response.json()["id"]}

    url = "/api/v1/locks/{id}/"
    assert statuses(api, "delete", url, setup=locked) == {"alice": 403, "bob": 200, "carol": 403, ANONYMOUS: 401}


FREEZE = {"name": "weekend", "environments": ["prod"], "schedule": "0 16 * * fri", "duration": "64h"}


def test_making_a_freeze_needs_the_lock_grant(api):
    # The grant is checked before the name, so those after bob are refused for the grant too.
    assert statuses(api, "post", "/api/v1/freezes/", FREEZE) == {"alice": 403, "bob": 201, "carol": 403, ANONYMOUS: 401}


def test_removing_a_freeze_needs_the_lock_grant(api):
    def frozen():
        api("bob").post("/api/v1/freezes/", FREEZE, format="json")  # 400 when the refusal before left it in place
        return {}

    url = "/api/v1/freezes/weekend/"
    assert statuses(api, "delete", url, setup=frozen) == {"alice": 403, "bob": 200, "carol": 403, ANONYMOUS: 401}
