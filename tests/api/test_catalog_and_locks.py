"""Services with what runs where, environments, and freezes through the API."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone


def test_services_list_targets_with_their_current_version_and_lock(api):
    client = api("alice")
    client.post(
        "/api/v1/deployments/", {"service": "api", "environment": "staging", "version": "v7", "action": "deploy"}
    )
    api("bob").post("/api/v1/locks/", {"service": "api", "environment": "prod", "reason": "audit"})

    services = client.get("/api/v1/services/").json()

    assert [s["name"] for s in services] == ["api", "web-app", "worker"]
    targets = {t["environment"]: t for t in services[0]["targets"]}
    assert list(targets) == ["dev", "staging", "prod"]
    assert targets["staging"]["current"]["version"] == "v7"
    assert targets["staging"]["current"]["requested_by"] == "alice"
    assert targets["dev"]["current"] is None and targets["dev"]["lock"] is None
    assert targets["prod"]["lock"]["locked_by"] == "bob" and targets["prod"]["lock"]["reason"] == "audit"


def test_one_service_by_name(api):
    response = api("carol").get("/api/v1/services/web-app/")
    assert response.status_code == 200
    assert response.json()["repository"] == "acme/web-app"
    assert api("carol").get("/api/v1/services/nope/").status_code == 404


def test_environments_in_order(api):
    assert api("carol").get("/api/v1/environments/").json() == [
        {"name": "dev", "order": 10, "requires_approval": False, "protected": False},
        {"name": "staging", "order": 20, "requires_approval": False, "protected": False},
        {"name": "prod", "order": 30, "requires_approval": True, "protected": True},
    ]


def test_a_lock_until_a_time_then_its_release(api):
    bob = api("bob")
    until = (timezone.now() + timedelta(hours=2)).isoformat()

    made = bob.post("/api/v1/locks/", {"service": "web-app", "environment": "prod", "until": until}, format="json")

    assert made.status_code == 201
    lock = made.json()
    assert lock["active"] and lock["locked_by"] == "bob" and lock["until"] is not None
    assert [item["id"] for item in api("carol").get("/api/v1/locks/").json()] == [lock["id"]]
    again = bob.post("/api/v1/locks/", {"service": "web-app", "environment": "prod"})
    assert again.status_code == 409 and again.json()["detail"].startswith("Already locked: web-app/prod is locked")

    released = bob.delete(f"/api/v1/locks/{lock['id']}/")

    assert released.status_code == 200
    assert released.json()["released_by"] == "bob" and not released.json()["active"]
    assert api("carol").get("/api/v1/locks/").json() == []
    gone = bob.delete(f"/api/v1/locks/{lock['id']}/")
    assert (
        gone.status_code == 409
        and gone.json()["detail"] == f"Lock #{lock['id']} on web-app/prod is no longer in force."
    )


def test_a_lock_in_the_past_is_refused(api):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = api("bob").post("/api/v1/locks/", {"service": "api", "environment": "dev", "until": past})
    assert response.status_code == 400
    assert response.json()["detail"] == "until: A lock must last until a moment still to come."


def test_unlocking_a_lock_that_does_not_exist_is_404(api):
    assert api("bob").delete("/api/v1/locks/424242/").status_code == 404


def test_a_url_that_names_nothing_answers_json(api):
    urls = (("get", "/api/v1/nope/"), ("post", "/api/v1/deployments/1.5/approve/"), ("post", "/api/v1/locks/x%0Ay/"))
    for method, url in urls:
        response = getattr(api("alice"), method)(url)
        assert response.status_code == 404
        assert response.json()["detail"].startswith("There is no API endpoint at /api/v1/")
