"""Freezes through the API: read by anyone signed in, made and removed with `lock` on what they cover."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from chatops_site.catalog.models import Action, Environment, Grant, Service
from chatops_site.deploys.models import Deployment, Freeze, State

WEEKEND = {
    "name": "weekend",
    "environments": ["prod"],
    "services": ["web-app"],
    "schedule": "0 16 * * fri",
    "duration": "64h",
    "time_zone": "Europe/Berlin",
    "reason": "No prod deploys over the weekend",
}
YEAR_END = {
    "name": "year-end",
    "environments": ["prod"],
    "start": "2026-12-20 00:00",
    "end": "2027-01-04 08:00",
    "time_zone": "Europe/Berlin",
    "rollbacks": True,
}


def now_for(hours: float) -> dict:
    """A one-off freeze of prod in force now, for `hours` more, in ISO 8601 with offsets."""
    now = timezone.now()
    return {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=hours)).isoformat()}


def test_bob_adds_a_weekly_freeze_and_everyone_signed_in_reads_it(api):
    made = api("bob").post("/api/v1/freezes/", WEEKEND, format="json")

    assert made.status_code == 201, made.json()
    assert made["Location"].endswith("/api/v1/freezes/weekend/")
    body = made.json()
    assert {key: body[key] for key in WEEKEND} == WEEKEND
    assert (body["start"], body["end"], body["rollbacks"]) == (None, None, False)
    assert body["next_window"]["start"].endswith("T16:00:00+01:00") or body["next_window"]["start"].endswith(
        "T16:00:00+02:00"
    )
    freeze = Freeze.objects.get(name="weekend")
    assert freeze.duration == timedelta(hours=64)
    assert [f["name"] for f in api("carol").get("/api/v1/freezes/").json()] == ["weekend"]
    assert api("carol").get("/api/v1/freezes/weekend/").json() == body
    assert api(None).get("/api/v1/freezes/").status_code == 401


def test_a_one_off_freeze_in_wall_times_of_its_zone_reads_back_with_their_offset(api):
    made = api("bob").post("/api/v1/freezes/", YEAR_END, format="json")

    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["start"], body["end"]) == ("2026-12-20T00:00:00+01:00", "2027-01-04T08:00:00+01:00")
    assert (body["schedule"], body["duration"], body["rollbacks"], body["services"]) == ("", None, True, [])


def test_times_with_an_offset_name_that_instant(api):
    asked = {**YEAR_END, "start": "2026-12-19T23:00:00Z", "end": "2027-01-04T09:00:00+02:00"}

    body = api("bob").post("/api/v1/freezes/", asked, format="json").json()

    assert (body["start"], body["end"]) == ("2026-12-20T00:00:00+01:00", "2027-01-04T08:00:00+01:00")


@pytest.mark.parametrize("duration", ["64h", "2d16h", "230400", 230400, "P2DT16H"])
def test_a_duration_as_people_write_it_or_in_seconds_or_iso_8601(api, duration):
    made = api("bob").post("/api/v1/freezes/", {**WEEKEND, "duration": duration}, format="json")

    assert made.status_code == 201, made.json()
    assert made.json()["duration"] == "64h"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"schedule": "0 16 * fri"}, "schedule", "'0 16 * fri' is not a 5-field cron expression"),
        ({"time_zone": "Europe/Berlln"}, "time_zone", "'Europe/Berlln' is not an IANA time zone (e.g. Europe/Berlin)"),
        ({"duration": "a weekend"}, "duration", "'a weekend' is not a duration (use e.g. 90s, 30m, 1h30m, 2d)"),
        ({"duration": "0s"}, "duration", "a schedule needs a duration (e.g. 64h)"),
        ({"duration": None}, "duration", "a schedule needs a duration (e.g. 64h)"),
        ({"start": "2026-12-20 00:00"}, "start", "give either a schedule and a duration, or a start and an end"),
        ({"schedule": "", "duration": None}, "schedule", "give a schedule and a duration, or a start and an end"),
        ({"environments": ["prod", "qa"]}, "environments", "There is no environment named 'qa'."),
        ({"environments": []}, "environments", "This list may not be empty."),
        ({"services": ["shop"]}, "services", "There is no service named 'shop'."),
        ({"name": "week end"}, "name", 'Enter a valid "slug"'),
    ],
)
def test_a_bad_freeze_is_a_400_on_its_field(api, change, field, message):
    response = api("bob").post("/api/v1/freezes/", {**WEEKEND, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][field][0].startswith(message), response.json()
    assert response.json()["detail"].startswith(f"{field}: ")
    assert not Freeze.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"start": "2027-01-04 08:00", "end": "2026-12-20 00:00"}, "end", "the end must come after the start"),
        (
            {"start": "2026-03-29 02:30", "end": "2026-03-29 08:00"},
            "start",
            "'2026-03-29 02:30' does not exist in Europe/Berlin: clocks jump forward (+01:00 to +02:00)",
        ),
        (
            {"start": "2026-10-25 02:30", "end": "2026-10-25 08:00"},
            "start",
            "'2026-10-25 02:30' happens twice in Europe/Berlin: clocks go back (+02:00 to +01:00); add the offset",
        ),
        ({"start": "soon"}, "start", "'soon' is not a time: write \"2026-12-20 00:00\" (in time_zone)"),
        ({"duration": "1h"}, "duration", "a one-off window lasts from its start to its end"),
    ],
)
def test_a_bad_one_off_window_is_a_400_on_its_field(api, change, field, message):
    response = api("bob").post("/api/v1/freezes/", {**YEAR_END, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][field][0].startswith(message), response.json()


def test_a_name_already_taken_is_a_400(api):
    api("bob").post("/api/v1/freezes/", WEEKEND, format="json")

    again = api("bob").post("/api/v1/freezes/", {**WEEKEND, "schedule": "0 18 * * fri"}, format="json")

    assert again.status_code == 400
    assert again.json()["errors"] == {"name": ["There is already a freeze named 'weekend'."]}


def test_making_or_removing_a_freeze_needs_the_lock_grant(api):
    refused = api("alice").post("/api/v1/freezes/", WEEKEND, format="json")
    api("bob").post("/api/v1/freezes/", WEEKEND, format="json")
    not_removed = api("alice").delete("/api/v1/freezes/weekend/")

    assert refused.status_code == 403
    assert refused.json()["detail"] == "alice may not lock / unlock web-app in prod: ask an admin for the 'lock' grant."
    assert not_removed.status_code == 403
    assert Freeze.objects.filter(name="weekend").exists()


def test_a_freeze_of_every_service_needs_the_lock_grant_on_each_of_them(api):
    dave = get_user_model().objects.create(username="dave")
    prod = Environment.objects.get(name="prod")
    Grant.objects.create(user=dave, action=Action.LOCK, service=Service.objects.get(name="web-app"), environment=prod)
    every_service = {key: value for key, value in WEEKEND.items() if key != "services"}

    refused = api("dave").post("/api/v1/freezes/", every_service, format="json")
    allowed = api("dave").post("/api/v1/freezes/", WEEKEND, format="json")

    assert refused.status_code == 403
    assert refused.json()["detail"] == "dave may not lock / unlock api in prod: ask an admin for the 'lock' grant."
    assert allowed.status_code == 201


def test_removing_a_freeze_answers_with_it_and_then_it_is_gone(api):
    body = api("bob").post("/api/v1/freezes/", WEEKEND, format="json").json()

    removed = api("bob").delete("/api/v1/freezes/weekend/")

    assert removed.status_code == 200 and removed.json() == body
    assert not Freeze.objects.exists()
    assert api("bob").delete("/api/v1/freezes/weekend/").status_code == 404
    assert api("bob").get("/api/v1/freezes/weekend/").status_code == 404


def test_a_new_freeze_leaves_the_queue_waiting_and_removing_the_last_one_starts_it(api, waiting):
    bob = api("bob")
    bob.post("/api/v1/freezes/", {**YEAR_END, "name": "now", **now_for(2)}, format="json")
    bob.post(f"/api/v1/deployments/{waiting.pk}/approve/")
    assert Deployment.objects.get(pk=waiting.pk).state == State.QUEUED  # approved during the freeze: it waits

    made = bob.post("/api/v1/freezes/", {**YEAR_END, "name": "also-now", **now_for(3)}, format="json")
    assert made.status_code == 201 and made.json()["window"] is not None
    assert Deployment.objects.get(pk=waiting.pk).state == State.QUEUED

    bob.delete("/api/v1/freezes/now/")
    assert Deployment.objects.get(pk=waiting.pk).state == State.QUEUED  # woken, but still held by the other

    bob.delete("/api/v1/freezes/also-now/")
    assert Deployment.objects.get(pk=waiting.pk).state == State.SUCCEEDED
