"""What the API says about a deployment or a service depends on whether the caller may view it."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from chatops_site.catalog.models import Action, Environment, Grant, Service


def test_a_user_without_grants_sees_no_services(api):
    get_user_model().objects.create(username="dave")

    assert api("dave").get("/api/v1/services/").json() == []
    assert api("dave").get("/api/v1/services/web-app/").status_code == 404


def test_a_grant_on_one_target_shows_that_service_with_that_target_only(api):
    dave = get_user_model().objects.create(username="dave")
    Grant.objects.create(
        user=dave,
        action=Action.VIEW,
        service=Service.objects.get(name="api"),
        environment=Environment.objects.get(name="dev"),
    )

    services = api("dave").get("/api/v1/services/").json()

    assert [(s["name"], [t["environment"] for t in s["targets"]]) for s in services] == [("api", ["dev"])]


def test_deciding_on_a_deployment_one_may_not_see_is_a_404_whatever_its_state(api, waiting):
    get_user_model().objects.create(username="dave")
    api("bob").post(f"/api/v1/deployments/{waiting.pk}/approve/")

    decided = api("dave").post(f"/api/v1/deployments/{waiting.pk}/approve/")
    missing = api("dave").post("/api/v1/deployments/999999/approve/")

    assert (decided.status_code, decided.json()) == (404, {"detail": f"There is no deployment #{waiting.pk}."})
    assert missing.status_code == 404


def test_a_viewer_without_the_approve_grant_is_refused_before_hearing_who_decided(api, waiting):
    api("bob").post(f"/api/v1/deployments/{waiting.pk}/approve/")

    answer = api("carol").post(f"/api/v1/deployments/{waiting.pk}/approve/")

    assert answer.status_code == 403
    assert "bob" not in answer.json()["detail"]
