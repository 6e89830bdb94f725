"""The catalog file's `freezes:` section: DESIGN.md's example applied, exported back exactly, refused by line."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from chatops_site.catalog import sync
from chatops_site.catalog.catalog_file import dump, read
from chatops_site.catalog.models import Environment
from chatops_site.deploys import freeze_edits
from chatops_site.deploys.models import Deployment, Freeze, State

# DESIGN.md's example, word for word.
DESIGN_FREEZES = """\
freezes:
  - name: weekend
    environments: [prod]               # required
    services: [web-app]                # optional; blank: every service
    schedule: "0 16 * * fri"          # 5-field cron: when each window starts, in time_zone
    duration: 64h                      # how long each window lasts
    time_zone: Europe/Berlin           # IANA name; default TIME_ZONE
    reason: No prod deploys over the weekend
  - name: year-end
    environments: [prod]
    start: "2026-12-20 00:00"          # a one-off window instead of schedule + duration
    end: "2027-01-04 08:00"
    time_zone: Europe/Berlin
    rollbacks: true
"""

# The same, as `catalog export` writes it: no comments, keys in one order, the zone always said.
NORMALIZED = """\
freezes:
- name: weekend
  environments: [prod]
  services: [web-app]
  schedule: "0 16 * * fri"
  duration: 64h
  time_zone: Europe/Berlin
  reason: No prod deploys over the weekend
- name: year-end
  environments: [prod]
  start: "2026-12-20 00:00"
  end: "2027-01-04 08:00"
  time_zone: Europe/Berlin
  rollbacks: true
"""


@pytest.fixture
def catalog_cmd(catalog, tmp_path: Path, monkeypatch, django_capture_on_commit_callbacks):
    """`manage.py catalog ...` on the demo catalog, tasks run on commit: returns what it printed."""

    def run(*args: str, text: str | None = None, stdin: str | None = None) -> str:
        if text is not None:
            path = tmp_path / "catalog.yaml"
            path.write_text(text)
            args = tuple(str(path) if a == "FILE" else a for a in args)
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("catalog", *args, stdout=out)
        return out.getvalue()

    return run


def freezes_part(exported: str) -> str:
    return exported[exported.index("freezes:") :]


def test_the_design_example_makes_both_freezes(catalog_cmd):
    output = catalog_cmd("apply", "FILE", text=DESIGN_FREEZES)

    assert output.splitlines()[:2] == ["+ create freeze weekend", "+ create freeze year-end"]
    weekend = Freeze.objects.get(name="weekend")
    assert (weekend.schedule, weekend.duration, weekend.time_zone) == (
        "0 16 * * fri",
        timedelta(hours=64),
        "Europe/Berlin",
    )
    assert weekend.reason == "No prod deploys over the weekend" and not weekend.rollbacks
    assert [e.name for e in weekend.environments.all()] == ["prod"]
    assert [s.name for s in weekend.services.all()] == ["web-app"]
    year_end = Freeze.objects.get(name="year-end")
    # Wall times of Berlin in winter: an hour ahead of UTC.
    assert (year_end.start, year_end.end) == (
        datetime(2026, 12, 19, 23, tzinfo=UTC),
        datetime(2027, 1, 4, 7, tzinfo=UTC),
    )
    assert year_end.rollbacks and not year_end.schedule and year_end.duration is None
    assert not year_end.services.exists()


def test_export_writes_the_freezes_back_exactly(catalog_cmd):
    catalog_cmd("apply", "FILE", text=DESIGN_FREEZES)

    exported = catalog_cmd("export")

    assert freezes_part(exported) == NORMALIZED
    assert catalog_cmd("apply", "-", stdin=exported).startswith("Nothing to change: the catalog already says")
    assert read(exported) == sync.snapshot()
    assert dump(read(exported)) == exported


def test_a_normalized_file_comes_back_as_it_was(catalog_cmd):
    catalog_cmd("apply", "FILE", text=NORMALIZED)

    assert freezes_part(catalog_cmd("export")) == NORMALIZED
    assert catalog_cmd("apply", "FILE", text=NORMALIZED).startswith("Nothing to change")


def test_a_time_that_happens_twice_goes_out_and_back_with_its_offset(catalog_cmd):
    # 02:30 on October 25 is first +02:00, then, an hour later, +01:00.
    text = """\
freezes:
- name: night
  environments: [prod]
  start: "2026-10-25 02:30+01:00"
  end: "2026-10-25 04:00"
  time_zone: Europe/Berlin
"""
    catalog_cmd("apply", "FILE", text=text)

    assert Freeze.objects.get().start == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert freezes_part(catalog_cmd("export")) == text


def test_a_time_with_an_offset_is_that_instant_and_is_written_back_in_the_zone(catalog_cmd):
    text = NORMALIZED.replace('"2026-12-20 00:00"', '"2026-12-19T23:00:00Z"')

    assert catalog_cmd("apply", "FILE", text=text).splitlines()[-1].startswith("Applied ")

    assert freezes_part(catalog_cmd("export")) == NORMALIZED


def test_a_changed_freeze_is_shown_before_and_after(catalog_cmd):
    catalog_cmd("apply", "FILE", text=DESIGN_FREEZES)
    changed = DESIGN_FREEZES.replace("services: [web-app]", "services: [web-app, api]").replace("64h", "2d")
    changed = changed.replace('end: "2027-01-04 08:00"', 'end: "2027-01-06 08:00"')

    output = catalog_cmd("apply", "FILE", text=changed)

    assert output.splitlines()[:2] == [
        "~ update freeze weekend: services [web-app] -> [api, web-app], duration 64h -> 2d",
        "~ update freeze year-end: end '2027-01-04 08:00' -> '2027-01-06 08:00'",
    ]
    assert Freeze.objects.get(name="weekend").services.count() == 2


def test_prune_deletes_the_freezes_the_file_no_longer_names_and_a_left_out_section_is_left_alone(catalog_cmd):
    catalog_cmd("apply", "FILE", text=DESIGN_FREEZES)

    untouched = catalog_cmd("apply", "FILE", "--prune", text="environments:\n" + _environments())
    pruned = catalog_cmd("apply", "FILE", "--prune", text=DESIGN_FREEZES.split("  - name: year-end")[0])

    assert untouched.startswith("Nothing to change") and "delete freeze" not in untouched
    assert "- delete freeze year-end" in pruned.splitlines()
    assert list(Freeze.objects.values_list("name", flat=True)) == ["weekend"]
    assert catalog_cmd("apply", "FILE", "--prune", text="freezes: []\n").splitlines()[0] == "- delete freeze weekend"
    assert not Freeze.objects.exists()


def _environments() -> str:
    return "".join(
        f"  - {{name: {e.name}, order: {e.order}}}\n"
        if not e.protected
        else f"  - {{name: {e.name}, order: {e.order}, requires_approval: true, protected: true}}\n"
        for e in Environment.objects.all()
    )


def test_removing_a_freeze_in_force_starts_what_it_held(catalog_cmd, say):
    now = timezone.now()
    say("alice", "/deploy web-app prod v2")  # asked for before the freeze, which would refuse it
    deployment = Deployment.objects.get()
    freeze_edits.create(
        {"name": "now", "start": now - timedelta(hours=1), "end": now + timedelta(hours=1)},
        Environment.objects.filter(name="prod"),
    )
    say("bob", f"/approve {deployment.pk}")
    deployment.refresh_from_db()
    assert deployment.state == State.QUEUED  # approved during the freeze: it waits

    catalog_cmd("apply", "FILE", "--prune", text="freezes: []\n")

    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED


def test_shortening_a_freeze_in_force_starts_what_it_held(catalog_cmd, say):
    now = timezone.now()
    say("alice", "/deploy web-app prod v2")
    catalog_cmd("apply", "FILE", text=_one_off(now - timedelta(hours=1), now + timedelta(hours=1)))
    say("bob", f"/approve {Deployment.objects.get().pk}")
    assert Deployment.objects.get().state == State.QUEUED

    catalog_cmd("apply", "FILE", text=_one_off(now - timedelta(hours=1), now - timedelta(minutes=1)))

    assert Deployment.objects.get().state == State.SUCCEEDED


def _one_off(start: datetime, end: datetime) -> str:
    return (
        f"freezes:\n  - name: now\n    environments: [prod]\n    time_zone: UTC\n"
        f'    start: "{start:%Y-%m-%d %H:%M:%S}"\n    end: "{end:%Y-%m-%d %H:%M:%S}"\n'
    )


def test_the_example_file_names_its_freezes(catalog_cmd):
    example = Path(__file__).resolve().parents[2] / "catalog.example.yaml"

    catalog_cmd("apply", str(example))

    assert Freeze.objects.filter(name="weekend", time_zone="Europe/Berlin").exists()
    assert catalog_cmd("apply", str(example), "--prune").splitlines()[-1].startswith("Nothing to change")


FREEZE = "freezes:\n  - name: weekend\n    environments: [prod]\n"
WEEKLY = FREEZE + '    schedule: "0 16 * * fri"\n    duration: 64h\n'


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            FREEZE + '    schedule: "0 16 * fri"\n    duration: 64h\n',
            4,
            "freeze weekend: schedule: '0 16 * fri' is not a 5-field cron expression (e.g. \"0 16 * * fri\")",
        ),
        (
            WEEKLY + "    time_zone: Europe/Berlln\n",
            6,
            "freeze weekend: time_zone: 'Europe/Berlln' is not an IANA time zone (e.g. Europe/Berlin)",
        ),
        (
            FREEZE + '    schedule: "0 16 * * fri"\n    duration: a weekend\n',
            5,
            "freeze weekend: duration 'a weekend' is not a duration (use e.g. 90s, 30m, 1h30m, 2d)",
        ),
        (
            FREEZE + '    schedule: "0 16 * * fri"\n    duration: 0s\n',
            5,
            "freeze weekend: duration: a schedule needs a duration (e.g. 64h)",
        ),
        (
            FREEZE + '    schedule: "0 16 * * fri"\n',
            4,
            "freeze weekend: duration: a schedule needs a duration (e.g. 64h)",
        ),
        (
            FREEZE + '    start: "2027-01-04 08:00"\n    end: "2026-12-20 00:00"\n',
            5,
            "freeze weekend: end: the end must come after the start",
        ),
        (
            FREEZE + '    start: "2026-12-20 00:00"\n',
            2,
            "freeze weekend: schedule: give a schedule and a duration, or a start and an end",
        ),
        (
            WEEKLY + '    start: "2026-12-20 00:00"\n',
            6,
            "freeze weekend: start: give either a schedule and a duration, or a start and an end, not both",
        ),
        (
            FREEZE + '    start: "2026-12-20 00:00"\n    end: "2027-01-04 08:00"\n    duration: 1h\n',
            6,
            "freeze weekend: duration: a one-off window lasts from its start to its end",
        ),
        (
            FREEZE + '    start: "2026-03-29 02:30"\n    end: "2026-03-29 06:00"\n    time_zone: Europe/Berlin\n',
            4,
            "freeze weekend: start: '2026-03-29 02:30' does not exist in Europe/Berlin: clocks jump forward",
        ),
        (
            FREEZE + '    start: "2026-10-25 00:00"\n    end: "2026-10-25 02:30"\n    time_zone: Europe/Berlin\n',
            5,
            "freeze weekend: end: '2026-10-25 02:30' happens twice in Europe/Berlin: clocks go back",
        ),
        (
            FREEZE + '    start: "20.12.2026"\n    end: "2027-01-04 08:00"\n',
            4,
            "freeze weekend: start: '20.12.2026' is not a time: write \"2026-12-20 00:00\" (in time_zone)",
        ),
        (
            FREEZE + "    start: 2026-12-20\n    end: 2027-01-04\n",
            4,
            'freeze weekend: start must be a time such as "2026-12-20 00:00" (quote it)',
        ),
        (
            "freezes:\n  - name: weekend\n    environments: [prod, qa]\n",
            3,
            "freeze weekend: unknown environment 'qa' (known: dev, prod, staging)",
        ),
        (
            WEEKLY + "    services: [web-app, shop]\n",
            6,
            "freeze weekend: unknown service 'shop' (known: api, web-app, worker)",
        ),
        ("freezes:\n  - name: weekend\n    environments: []\n", 3, "freeze weekend: environments is empty"),
        ("freezes:\n  - name: weekend\n    schedule: '0 16 * * fri'\n", 2, "freeze: 'environments' is required"),
        (WEEKLY + "    rollbacks: yes please\n", 6, "freeze weekend: rollbacks must be true or false"),
        (WEEKLY + "    window: 64h\n", 6, "freeze: unknown key 'window'"),
        (WEEKLY + WEEKLY.replace("freezes:\n", ""), 6, "freeze 'weekend' is named twice"),
        ("freezes:\n  - name: week end\n    environments: [prod]\n", 2, "freeze name: 'week end' is not a slug"),
    ],
)
def test_an_invalid_freeze_is_refused_with_its_line_and_reason(catalog_cmd, text, line, reason):
    with pytest.raises(CommandError) as refused:
        catalog_cmd("apply", "FILE", text=text)

    assert f"catalog.yaml, line {line}: {reason}" in str(refused.value)
    assert not Freeze.objects.exists()


def test_each_mistake_is_said_once(catalog_cmd):
    text = FREEZE + '    schedule: "0 16 * * fri"\n    duration: soon\n    time_zone: Mars/Olympus\n'

    with pytest.raises(CommandError) as refused:
        catalog_cmd("apply", "FILE", text=text)

    problems = [line.split("catalog.yaml, ")[1] for line in str(refused.value).splitlines()[1:]]
    assert problems == [
        "line 5: freeze weekend: duration 'soon' is not a duration (use e.g. 90s, 30m, 1h30m, 2d)",
        "line 6: freeze weekend: time_zone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Berlin)",
    ]
