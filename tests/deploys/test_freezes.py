"""Freeze windows: cron in the freeze's own zone, durations of elapsed time, runs of overlapping windows.

Dates used: in 2026 Europe/Berlin springs forward on Sunday March 29 and falls back on Sunday October 25,
America/New_York springs forward on Sunday March 8; Asia/Tokyo keeps +09:00 all year.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin

from chatops_site.catalog.models import Environment, Service
from chatops_site.deploys import engine, freezes
from chatops_site.deploys.models import Freeze, Kind
from tests.deploys.helpers import place, target_of

BERLIN = "Europe/Berlin"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))


def weekend(**fields) -> Freeze:
    """DESIGN.md's example: from Friday 16:00 Berlin for 64 hours (to Monday 08:00, as a rule)."""
    return Freeze(
        **{"name": "weekend", "schedule": "0 16 * * fri", "duration": timedelta(hours=64), "time_zone": BERLIN} | fields
    )


# Windows in the freeze's zone


def test_a_weekly_window_starts_at_16_berlin_in_winter_that_is_15_utc():
    window = freezes.window_at(weekend(), utc(2026, 1, 10, 12))

    assert window == (utc(2026, 1, 9, 15), utc(2026, 1, 12, 7))
    assert window[1].astimezone(ZoneInfo(BERLIN)) == local(BERLIN, 2026, 1, 12, 8)


def test_a_weekly_window_starts_at_16_berlin_in_summer_that_is_14_utc():
    window = freezes.window_at(weekend(), utc(2026, 7, 11, 12))

    assert window == (utc(2026, 7, 10, 14), utc(2026, 7, 13, 6))
    assert window[1].astimezone(ZoneInfo(BERLIN)) == local(BERLIN, 2026, 7, 13, 8)


def test_the_start_is_in_the_window_and_the_end_is_not():
    freeze = weekend()

    assert freezes.window_at(freeze, utc(2026, 1, 9, 15)) == (utc(2026, 1, 9, 15), utc(2026, 1, 12, 7))
    assert freezes.window_at(freeze, utc(2026, 1, 12, 7)) is None
    assert freezes.window_at(freeze, utc(2026, 1, 12, 6, 59, 59)) is not None
    assert freezes.window_at(freeze, utc(2026, 1, 14, 12)) is None


def test_a_fraction_of_a_second_before_the_start_is_not_in_the_window():
    """The clock has microseconds; cron looks back from whole seconds (this once froze a second early)."""
    freeze = weekend()

    assert freezes.window_at(freeze, utc(2026, 1, 9, 14, 59, 59, 500000)) is None
    assert freezes.window_at(freeze, utc(2026, 1, 9, 15, 0, 0, 500000)) == (utc(2026, 1, 9, 15), utc(2026, 1, 12, 7))


def test_64_hours_across_the_spring_change_end_at_09_summer_time():
    """Friday 16:00 CET (15:00 UTC) + 64 h of elapsed time = Monday 07:00 UTC, which is 09:00 CEST."""
    window = freezes.window_at(weekend(), utc(2026, 3, 29, 12))

    assert window == (utc(2026, 3, 27, 15), utc(2026, 3, 30, 7))
    assert window[1].astimezone(ZoneInfo(BERLIN)) == local(BERLIN, 2026, 3, 30, 9)
    assert freezes.window_at(weekend(), local(BERLIN, 2026, 3, 30, 8, 30)) == window


def test_64_hours_across_the_autumn_change_end_at_07_winter_time():
    window = freezes.window_at(weekend(), utc(2026, 10, 25, 12))

    assert window == (utc(2026, 10, 23, 14), utc(2026, 10, 26, 6))
    assert window[1].astimezone(ZoneInfo(BERLIN)) == local(BERLIN, 2026, 10, 26, 7)


def test_a_start_in_the_spring_gap_is_placed_as_if_the_clocks_had_not_changed():
    """02:30 does not exist in Berlin on March 29: read as 02:30 CET, which is 03:30 CEST."""
    freeze = Freeze(schedule="30 2 * * *", duration=timedelta(hours=1), time_zone=BERLIN)

    window = freezes.window_at(freeze, utc(2026, 3, 29, 2))

    assert window == (utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2, 30))


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
def test_a_nightly_window_crosses_midnight_in_its_zone(zone):
    freeze = Freeze(schedule="0 22 * * *", duration=timedelta(hours=10), time_zone=zone)

    window = freezes.window_at(freeze, local(zone, 2026, 1, 15, 3))

    assert window == (local(zone, 2026, 1, 14, 22), local(zone, 2026, 1, 15, 8))
    assert freezes.window_at(freeze, local(zone, 2026, 1, 15, 9)) is None
    assert freezes.window_at(freeze, local(zone, 2026, 1, 14, 21, 59)) is None


def test_a_nightly_window_in_new_york_lasts_its_hours_across_the_spring_change():
    """Saturday 22:00 EST + 10 h = Sunday 09:00 EDT: an hour later on the wall than other nights."""
    zone = "America/New_York"
    freeze = Freeze(schedule="0 22 * * *", duration=timedelta(hours=10), time_zone=zone)

    window = freezes.window_at(freeze, local(zone, 2026, 3, 8, 8, 30))

    assert window == (local(zone, 2026, 3, 7, 22), local(zone, 2026, 3, 8, 9))
    assert window[1] - window[0] == timedelta(hours=10)


# Overlapping windows


def test_windows_of_one_freeze_that_overlap_hold_as_one_run():
    """Mon 00:00 and Tue 00:00 UTC, 36 h each: frozen from Monday 00:00 to Wednesday 12:00 without a break."""
    freeze = Freeze(schedule="0 0 * * mon,tue", duration=timedelta(hours=36), time_zone="UTC")
    run = (utc(2026, 1, 12), utc(2026, 1, 14, 12))

    for moment in (utc(2026, 1, 12), utc(2026, 1, 13, 6), utc(2026, 1, 13, 12), utc(2026, 1, 14, 11)):
        assert freezes.window_at(freeze, moment) == run, moment
    assert freezes.window_at(freeze, run[1]) is None  # it ends when it says it ends


def test_windows_that_touch_hold_as_one_run():
    freeze = Freeze(schedule="0 0 * * mon,tue", duration=timedelta(hours=24), time_zone="UTC")

    assert freezes.window_at(freeze, utc(2026, 1, 12, 6)) == (utc(2026, 1, 12), utc(2026, 1, 14))
    assert freezes.window_at(freeze, utc(2026, 1, 14)) is None


def test_of_several_freezes_holding_a_target_the_one_ending_last_is_named(catalog):
    prod = Environment.objects.get(name="prod")
    moment = utc(2026, 1, 10, 12)
    for name, schedule, hours in (("weekend", "0 16 * * fri", 64), ("saturday", "0 0 * * sat", 24)):
        freeze = Freeze.objects.create(name=name, schedule=schedule, duration=timedelta(hours=hours), time_zone=BERLIN)
        freeze.environments.add(prod)

    freeze, window = freezes.holding(target_of("web-app", "prod"), moment=moment)

    assert (freeze.name, window) == ("weekend", (utc(2026, 1, 9, 15), utc(2026, 1, 12, 7)))
    assert freezes.holding(target_of("web-app", "prod"), moment=utc(2026, 1, 12, 7)) is None
    assert freezes.holding(target_of("web-app", "staging"), moment=moment) is None


def test_a_freeze_of_some_services_holds_only_those_and_rollbacks_pass_when_it_says(catalog):
    freeze = weekend(rollbacks=True)
    freeze.save()
    freeze.environments.add(Environment.objects.get(name="prod"))
    freeze.services.add(Service.objects.get(name="api"))
    moment = utc(2026, 1, 10, 12)

    assert freezes.holding(target_of("api", "prod"), moment=moment)[0] == freeze
    assert freezes.holding(target_of("web-app", "prod"), moment=moment) is None
    assert freezes.holding(target_of("api", "prod"), Kind.ROLLBACK, moment=moment) is None


# One-off windows and the next window


def test_a_one_off_window_holds_from_its_start_until_its_end():
    start, end = local(BERLIN, 2026, 12, 20), local(BERLIN, 2027, 1, 4, 8)
    freeze = Freeze(start=start, end=end, time_zone=BERLIN)

    assert freezes.window_at(freeze, start) == (start, end)
    assert freezes.window_at(freeze, utc(2026, 12, 31)) == (start, end)
    assert freezes.window_at(freeze, start - timedelta(microseconds=1)) is None
    assert freezes.window_at(freeze, end) is None
    assert freezes.next_window(freeze, utc(2026, 12, 1)) == (start, end)
    assert freezes.next_window(freeze, start) is None


def test_the_next_window_starts_at_16_berlin_before_and_after_the_spring_change():
    freeze = weekend()

    assert freezes.next_window(freeze, utc(2026, 3, 21)) == (utc(2026, 3, 27, 15), utc(2026, 3, 30, 7))
    assert freezes.next_window(freeze, utc(2026, 3, 28)) == (utc(2026, 4, 3, 14), utc(2026, 4, 6, 6))
    # "after" means after: a window starting at that very moment is not the next one.
    assert freezes.next_window(freeze, utc(2026, 4, 3, 14))[0] == utc(2026, 4, 10, 14)


# How a moment is written


def test_when_names_the_moment_in_the_freezes_zone_and_in_utc():
    assert (
        freezes.when(Freeze(time_zone=BERLIN), utc(2026, 12, 7, 7)) == "Mon 2026-12-07 08:00 Europe/Berlin (07:00 UTC)"
    )


def test_when_names_the_utc_day_when_it_is_another_day_there():
    assert (
        freezes.when(Freeze(time_zone="Asia/Tokyo"), utc(2026, 12, 7, 20))
        == "Tue 2026-12-08 05:00 Asia/Tokyo (Mon 20:00 UTC)"
    )


def test_a_refusal_names_the_freeze_its_reason_and_its_end_in_both_zones(catalog, alice, monkeypatch):
    now = utc(2026, 1, 10, 12)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    freeze = weekend(reason="No prod deploys over the weekend")
    freeze.save()
    freeze.environments.add(Environment.objects.get(name="prod"))

    with pytest.raises(engine.DeployError) as refused:
        engine.request_deploy(alice, *place("web-app", "prod"), "v2")

    assert str(refused.value) == (
        "web-app/prod is frozen by 'weekend': No prod deploys over the weekend. "
        "It ends Mon 2026-01-12 08:00 Europe/Berlin (07:00 UTC), in 43h."
    )


# What is wrong with a freeze


ONE_OFF = {"start": utc(2026, 12, 20), "end": utc(2027, 1, 4)}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"time_zone": "Mars/Olympus"}, {"time_zone": "'Mars/Olympus' is not an IANA time zone (e.g. Europe/Berlin)"}),
        (
            {"time_zone": "../etc/passwd"},
            {"time_zone": "'../etc/passwd' is not an IANA time zone (e.g. Europe/Berlin)"},
        ),
        (
            {"schedule": "0 16 * fri"},
            {"schedule": "'0 16 * fri' is not a 5-field cron expression (e.g. \"0 16 * * fri\")"},
        ),
        (
            {"schedule": "0 0 16 * * fri"},
            {"schedule": "'0 0 16 * * fri' is not a 5-field cron expression (e.g. \"0 16 * * fri\")"},
        ),
        (
            {"schedule": "0 25 * * *"},
            {"schedule": "'0 25 * * *' is not a 5-field cron expression (e.g. \"0 16 * * fri\")"},
        ),
        ({"duration": None}, {"duration": "a schedule needs a duration (e.g. 64h)"}),
        ({"duration": timedelta(0)}, {"duration": "a schedule needs a duration (e.g. 64h)"}),
        ({"duration": timedelta(hours=-1)}, {"duration": "a schedule needs a duration (e.g. 64h)"}),
        (ONE_OFF, {"start": "give either a schedule and a duration, or a start and an end, not both"}),
        ({"schedule": "", "duration": None}, {"schedule": "give a schedule and a duration, or a start and an end"}),
        (
            {"schedule": "", "duration": None, "start": utc(2026, 12, 20)},
            {"schedule": "give a schedule and a duration, or a start and an end"},
        ),
        (
            {"schedule": "", "duration": None, "start": utc(2027, 1, 4), "end": utc(2027, 1, 4)},
            {"end": "the end must come after the start"},
        ),
        (
            {"schedule": "", **ONE_OFF},
            {"duration": "a one-off window lasts from its start to its end: a duration goes with a schedule"},
        ),
    ],
)
def test_problems_name_the_field_and_say_why(fields, expected):
    assert freezes.problems(weekend(**fields)) == expected


def test_good_freezes_have_no_problems():
    assert freezes.problems(weekend()) == {}
    assert freezes.problems(Freeze(time_zone=BERLIN, **ONE_OFF)) == {}


def test_the_admin_shows_each_problem_on_its_field(catalog, rf, admin_user):
    request = rf.get("/")
    request.user = admin_user
    form_class = admin.site._registry[Freeze].get_form(request)
    prod = Environment.objects.get(name="prod").pk
    data = {"name": "weekend", "environments": [prod], "time_zone": "Mars/Olympus", "schedule": "0 16 * fri"}

    bad = form_class(data={**data, "duration": ""})
    swapped = form_class(
        data={
            **data,
            "time_zone": BERLIN,
            "schedule": "",
            "start": "2027-01-04 08:00",
            "end": "2026-12-20 00:00",
        }
    )
    good = form_class(data={**data, "time_zone": BERLIN, "schedule": "0 16 * * fri", "duration": "64:00:00"})

    assert not bad.is_valid()
    assert bad.errors["time_zone"] == ["'Mars/Olympus' is not an IANA time zone (e.g. Europe/Berlin)"]
    assert bad.errors["schedule"] == ["'0 16 * fri' is not a 5-field cron expression (e.g. \"0 16 * * fri\")"]
    assert bad.errors["duration"] == ["a schedule needs a duration (e.g. 64h)"]
    assert not swapped.is_valid() and swapped.errors["end"] == ["the end must come after the start"]
    assert good.is_valid(), good.errors


def test_the_admin_reads_a_one_off_window_in_the_freezes_own_zone(catalog, rf, admin_user):
    request = rf.get("/")
    request.user = admin_user
    form_class = admin.site._registry[Freeze].get_form(request)
    prod = Environment.objects.get(name="prod").pk
    data = {"name": "year-end", "environments": [prod], "time_zone": BERLIN, "schedule": ""}

    form = form_class(data={**data, "start": "2026-12-20 00:00", "end": "2027-01-04 08:00"})
    gap = form_class(data={**data, "start": "2026-03-29 02:30", "end": "2026-03-30 08:00"})

    assert form.is_valid(), form.errors
    freeze = form.save()
    assert freeze.start == datetime(2026, 12, 19, 23, 0, tzinfo=UTC)  # midnight in Berlin is 23:00 UTC in winter
    assert form_class(instance=freeze).initial["start"] == "2026-12-20 00:00"
    assert not gap.is_valid() and "does not exist in Europe/Berlin" in gap.errors["start"][0]
