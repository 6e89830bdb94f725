"""The REST API shows a target's watch, and a deployment's watch after the deploy with its timeline."""

from __future__ import annotations

from tests.web.test_watch_and_cost import demo_alarms, unhealthy  # noqa: F401


def test_the_api_shows_the_watch_and_the_target_its_watch(api, unhealthy):  # noqa: F811
    detail = api("carol").get(f"/api/v1/deployments/{unhealthy.pk}/").json()
    service = api("carol").get("/api/v1/services/web-app/").json()

    shown = detail["watch"]
    assert (shown["state"], shown["minutes"], shown["alarms"], shown["auto_rollback"]) == (
        "unhealthy",
        2,
        ["web-5xx"],
        False,
    )
    assert [(b["what"], b["detail"]) for b in shown["breaches"]] == [("web-5xx", "in ALARM")]
    assert [note["text"].split(":")[0] for note in shown["timeline"]] == ["watching for 2 min", "unhealthy"]
    assert detail["by_watch"] is False and shown["rollback"] is None
    (staging,) = [t for t in service["targets"] if t["environment"] == "staging"]
    assert staging["watch"] == {"minutes": 2, "alarms": ["web-5xx"], "auto_rollback": False}
