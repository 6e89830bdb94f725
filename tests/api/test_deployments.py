"""Deploys through the API: the issue's Done-when, the engine's refusals as JSON, filters and pages."""

from __future__ import annotations

import pytest

from chatops_site.deploys.models import Deployment, DeploymentEvent, State


def deploy(api, who: str, service: str, environment: str, version: str | None = None, action: str = "deploy"):
    body = {"service": service, "environment": environment, "action": action}
    if version is not None:
        body["version"] = version
    return api(who).post("/api/v1/deployments/", body, format="json")


def test_alice_token_starts_a_deploy_that_succeeds(api):
    response = deploy(api, "alice", "web-app", "staging", "v1.2.3")

    assert response.status_code == 202
    answer = response.json()
    assert answer["service"] == "web-app" and answer["environment"] == "staging"
    assert answer["version"] == "v1.2.3" and answer["requested_by"] == "alice"
    assert response["Location"].endswith(f"/api/v1/deployments/{answer['id']}/")
    final = api("alice").get(f"/api/v1/deployments/{answer['id']}/").json()
    assert final["state"] == "succeeded"
    assert [t["to_state"] for t in final["transitions"]] == ["queued", "dispatching", "running", "succeeded"]
    assert final["transitions"][0]["actor"] == "alice"
    assert final["artifact"] == "registry.local/web-app:v1.2.3"


def test_carol_token_is_refused_with_the_reason(api):
    response = deploy(api, "carol", "web-app", "staging")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "carol may not deploy web-app in staging: ask an admin for the 'deploy' grant."
    }
    assert not Deployment.objects.exists()


def test_bob_approves_alice_prod_deploy(api, waiting):
    assert waiting.state == State.AWAITING_APPROVAL

    response = api("bob").post(f"/api/v1/deployments/{waiting.pk}/approve/")

    assert response.status_code == 200
    answer = response.json()
    assert answer["approvals"] == [
        {"approver": "bob", "decision": "approve", "reason": "", "decided_at": answer["approvals"][0]["decided_at"]}
    ]
    waiting.refresh_from_db()
    assert waiting.state == State.SUCCEEDED
    assert DeploymentEvent.objects.filter(deployment=waiting, to_state=State.QUEUED, actor__username="bob").exists()


def test_alice_may_not_approve_her_own_deploy(api, waiting):
    response = api("alice").post(f"/api/v1/deployments/{waiting.pk}/approve/")

    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"You requested #{waiting.pk} yourself; someone else must approve or reject it."
    )


def test_a_second_decision_is_a_conflict(api, waiting):
    api("bob").post(f"/api/v1/deployments/{waiting.pk}/reject/", {"reason": "not on a Friday"}, format="json")

    response = api("bob").post(f"/api/v1/deployments/{waiting.pk}/approve/")

    assert response.status_code == 409
    assert response.json()["detail"].startswith(f"#{waiting.pk} was already rejected by bob")
    detail = api("carol").get(f"/api/v1/deployments/{waiting.pk}/").json()
    assert detail["state"] == "rejected"
    assert detail["approvals"][0]["reason"] == "not on a Friday"


def test_cancelling_a_waiting_deploy(api, waiting):
    response = api("alice").post(f"/api/v1/deployments/{waiting.pk}/cancel/")

    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    again = api("alice").post(f"/api/v1/deployments/{waiting.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["detail"] == f"#{waiting.pk} is cancelled; only waiting ones can be cancelled."


def test_deciding_on_a_deployment_that_does_not_exist_is_404(api):
    response = api("bob").post("/api/v1/deployments/999999/approve/")
    assert response.status_code == 404 and "detail" in response.json()


def test_a_locked_target_refuses_deploys(api):
    api("bob").post("/api/v1/locks/", {"service": "api", "environment": "staging", "reason": "migration"})

    response = deploy(api, "alice", "api", "staging")

    assert response.status_code == 409
    assert response.json()["detail"].startswith("api/staging is locked by bob since ")
    assert response.json()["detail"].endswith(": migration.")


def test_a_rollback_goes_back_to_the_previous_good_version(api):
    deploy(api, "alice", "worker", "dev", "v1")
    deploy(api, "alice", "worker", "dev", "v2")

    response = deploy(api, "alice", "worker", "dev", action="rollback")

    assert response.status_code == 202
    assert response.json()["version"] == "v1" and response.json()["kind"] == "rollback"


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"service": "nope", "environment": "dev", "action": "deploy"}, "service: There is no service named 'nope'."),
        (
            {"service": "api", "environment": "moon", "action": "deploy"},
            "environment: There is no environment named 'moon'.",
        ),
        ({"service": "api", "environment": "dev", "action": "launch"}, 'action: "launch" is not a valid choice.'),
        (
            {"service": "api", "environment": "dev", "action": "deploy", "version": "two words"},
            "version: 'two words' is not a valid version: a version is a branch, tag or commit: up to 200 letters, "
            "digits and . _ / + -, starting with a letter or digit, without '..', '//' or '@{', and not ending in "
            "'/', '.' or '.lock'.",
        ),
        ({"service": "api", "environment": "dev"}, "action: This field is required."),
    ],
)
def test_bad_requests_say_what_is_wrong(api, body, detail):
    response = api("alice").post("/api/v1/deployments/", body, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert not Deployment.objects.exists()


@pytest.fixture
def history(api):
    """web-app v1 (alice) and v2 (bob) in staging, succeeded; api v3 in prod, waiting."""
    deploy(api, "alice", "web-app", "staging", "v1")
    deploy(api, "bob", "web-app", "staging", "v2")
    deploy(api, "alice", "api", "prod", "v3")


@pytest.mark.parametrize(
    "query, versions",
    [
        ("", ["v3", "v2", "v1"]),
        ("?service=web-app", ["v2", "v1"]),
        ("?environment=prod", ["v3"]),
        ("?state=awaiting_approval", ["v3"]),
        ("?state=succeeded&requested_by=bob", ["v2"]),
        ("?since=2000-01-01&until=2000-01-02", []),
        ("?since=2000-01-01T00:00:00Z", ["v3", "v2", "v1"]),
        # Offsets past what databases accept (schemathesis found this one) are read in UTC.
        ("?since=0179-08-10T00:24:58%2B16:41", ["v3", "v2", "v1"]),
        ("?until=0179-08-10T00:24:58%2B16:41", []),
    ],
)
def test_the_list_filters_by_name(api, history, query, versions):
    response = api("carol").get(f"/api/v1/deployments/{query}")
    assert response.status_code == 200
    assert [d["version"] for d in response.json()["results"]] == versions


def test_an_unknown_name_in_a_filter_is_a_clear_400(api, history):
    response = api("carol").get("/api/v1/deployments/?service=nope&since=yesterday")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "service: There is no service named 'nope'. since: 'yesterday' is not a date (YYYY-MM-DD) or an ISO 8601 time."
    )


@pytest.mark.parametrize("moment", ["9999-12-31", "0001-01-01T00:00:00%2B05:00"])
def test_a_time_beyond_the_calendar_is_a_clear_400(api, moment):
    response = api("carol").get(f"/api/v1/deployments/?until={moment}")
    assert response.status_code == 400
    assert "is outside the range of times this can search" in response.json()["detail"]


def test_a_typed_percent_sign_is_quoted_back_not_a_server_error(api):
    response = api("carol").get("/api/v1/commands/?since=100%25s")
    assert response.status_code == 400
    assert response.json()["detail"] == "since: '100%s' is not a date (YYYY-MM-DD) or an ISO 8601 time."


def test_a_user_without_view_sees_only_their_own_deployments(api, history):
    deploy(api, "dave", "web-app", "dev")  # refused: dave holds no grant
    assert api("dave").get("/api/v1/deployments/").json()["results"] == []
    assert len(api("alice").get("/api/v1/deployments/").json()["results"]) == 3


def test_a_name_with_a_nul_character_names_nothing(api):
    """PostgreSQL cannot compare text holding NUL; the answer is the usual 400, on every database."""
    response = deploy(api, "alice", "web\x00app", "dev")
    assert response.status_code == 400
    assert response.json()["detail"] == "service: There is no service named 'webapp'."
    assert api("alice").get("/api/v1/costs/daily/?service=web%00app").status_code == 400
