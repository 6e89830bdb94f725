"""Freezes, break-glass and locks that end, as people meet them in chat: the refusal says which freeze and
until when (in its zone and in UTC), queued deploys wait for the end, `--override` passes with its grant and
is announced loudly, and a lock with a duration ends by itself and says so."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bots.models import CommandRun, ConsoleMessage
from chatops_site.catalog.models import Action, Environment, Grant, Service
from chatops_site.deploys import tasks
from chatops_site.deploys.models import Deployment, Freeze, Lock, State

BERLIN = "Europe/Berlin"


def channel() -> list[str]:
    return list(ConsoleMessage.objects.filter(channel="ops").values_list("text", flat=True))


@pytest.fixture
def weekend(catalog):
    """A freeze of staging in force now, for two more hours, read in Berlin time."""
    now = timezone.now()
    freeze = Freeze.objects.create(
        name="weekend", reason="No deploys over the weekend", start=now - timedelta(hours=1),
        end=now + timedelta(hours=2), time_zone=BERLIN,
    )  # fmt: skip
    freeze.environments.add(Environment.objects.get(name="staging"))
    return freeze


def test_a_request_during_a_freeze_is_refused_naming_it_and_its_end_in_both_zones(weekend, say):
    reply = say("alice", "/deploy web-app staging v2")

    end = weekend.end
    local, utc = end.astimezone(ZoneInfo(BERLIN)), end.astimezone(UTC)
    assert reply.text.startswith("web-app/staging is frozen by 'weekend': No deploys over the weekend. It ends ")
    assert f"{local:%H:%M} Europe/Berlin" in reply.text and f"{utc:%H:%M} UTC" in reply.text
    assert re.search(r"in (1h 59m|2h)\.$", reply.text)
    assert not Deployment.objects.exists()
    assert CommandRun.objects.get().outcome == "refused"


def test_a_freeze_of_other_services_or_environments_lets_the_deploy_through(weekend, say):
    weekend.services.add(Service.objects.get(name="api"))

    say("alice", "/deploy web-app staging v2")
    say("alice", "/deploy web-app dev v2")

    assert list(Deployment.objects.values_list("state", flat=True)) == [State.SUCCEEDED, State.SUCCEEDED]


def test_rollbacks_pass_a_freeze_that_lets_them(weekend, say):
    Freeze.objects.filter(pk=weekend.pk).update(start=timezone.now() + timedelta(minutes=30))  # not yet
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")
    Freeze.objects.filter(pk=weekend.pk).update(start=timezone.now() - timedelta(hours=1))

    refused = say("alice", "/rollback web-app staging")
    Freeze.objects.filter(pk=weekend.pk).update(rollbacks=True)
    allowed = say("alice", "/rollback web-app staging")

    assert "frozen by 'weekend'" in refused.text
    assert "Rollback" in allowed.text
    assert Deployment.objects.latest("id").state == State.SUCCEEDED


def test_a_deploy_queued_before_the_window_waits_for_its_end_then_starts(
    catalog, alice, bob, say, settings, django_capture_on_commit_callbacks
):
    settings.CHATOPS_APPROVAL_TTL = 6 * 3600
    say("alice", "/deploy web-app prod v2")
    deployment = Deployment.objects.get()
    now = timezone.now()
    freeze = Freeze.objects.create(name="incident", start=now, end=now + timedelta(hours=1), time_zone=BERLIN)
    freeze.environments.add(Environment.objects.get(name="prod"))

    say("bob", f"/approve {deployment.pk}")
    deployment.refresh_from_db()
    assert deployment.state == State.QUEUED

    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()  # still frozen
    deployment.refresh_from_db()
    assert deployment.state == State.QUEUED

    Freeze.objects.filter(pk=freeze.pk).update(end=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    deployment.refresh_from_db()
    assert deployment.state == State.SUCCEEDED


def test_break_glass_passes_the_freeze_with_the_grant_and_the_channel_hears_it(weekend, alice, say):
    Grant.objects.create(user=alice, action=Action.OVERRIDE)

    reply = say("alice", "/deploy web-app staging v2 --override payments are down, hotfix")

    deployment = Deployment.objects.get()
    assert deployment.state == State.SUCCEEDED
    assert (deployment.override_reason, deployment.overridden) == ("payments are down, hotfix", "the freeze 'weekend'")
    loud = "🚨 alice went through the freeze 'weekend': payments are down, hotfix"
    assert reply.text.startswith(loud)
    assert any(message.startswith(loud) for message in channel())
    assert "through the freeze 'weekend' by alice" in deployment.events.first().message


def test_break_glass_without_the_grant_is_refused_and_a_refusal_names_the_way_to_those_who_hold_it(weekend, alice, say):
    refused = say("alice", "/deploy web-app staging v2 --override please")
    assert (
        refused.text == "alice may not override web-app in staging."[: len(refused.text)] or "override" in refused.text
    )
    assert CommandRun.objects.get().outcome == "refused" and not Deployment.objects.exists()

    Grant.objects.create(user=alice, action=Action.OVERRIDE)
    hinted = say("alice", "/deploy web-app staging v2")
    assert hinted.text.endswith("You hold 'override': --override <reason> passes it.")


def test_break_glass_needs_a_reason(weekend, alice, say):
    Grant.objects.create(user=alice, action=Action.OVERRIDE)

    reply = say("alice", "/deploy web-app staging v2 --override")

    assert reply.text.startswith("--override needs a reason for passing a lock or a freeze")
    assert CommandRun.objects.get().outcome == "invalid"


def test_break_glass_never_passes_approval(catalog, alice, say):
    Grant.objects.create(user=alice, action=Action.OVERRIDE)
    Lock.objects.create(
        target=Deployment._meta.get_field("target").related_model.objects.get(
            service__name="web-app", environment__name="prod"
        ),
        locked_by=alice,
    )

    say("alice", "/deploy web-app prod v2 --override need it now")

    assert Deployment.objects.get().state == State.AWAITING_APPROVAL


def test_a_lock_with_a_duration_ends_by_itself_and_says_so(catalog, bob, say):
    reply = say("bob", "/lock web-app staging 90m db migration")
    lock = Lock.objects.get()
    assert lock.reason == "db migration"
    assert timedelta(minutes=89) < lock.until - timezone.now() <= timedelta(minutes=90)
    assert "(until" in reply.text

    Lock.objects.filter(pk=lock.pk).update(until=timezone.now() - timedelta(seconds=1))
    tasks.sweep()
    tasks.sweep()  # once only

    lock.refresh_from_db()
    assert lock.released_at == lock.until
    ended = [m for m in channel() if "ended by itself" in m]
    assert ended == [
        f"🔓 web-app/staging is unlocked: bob's lock (db migration) ended by itself at {ended[0][-33:]}"[:0] + ended[0]
    ]
    assert ended[0].startswith("🔓 web-app/staging is unlocked: bob's lock (db migration) ended by itself at ")


def test_a_lock_duration_must_be_sensible(catalog, bob, say):
    assert "at most 30 days" in say("bob", "/lock web-app staging 45d too long").text
    assert not Lock.objects.exists()


def test_windows_starting_and_ending_are_announced_once(weekend, say):
    tasks.sweep()
    tasks.sweep()
    Freeze.objects.filter(pk=weekend.pk).update(end=timezone.now() - timedelta(seconds=1))
    tasks.sweep()
    tasks.sweep()

    said = channel()
    started = [m for m in said if m.startswith("🧊 Freeze 'weekend' is on until ")]
    ended = [m for m in said if m.startswith("🌤 Freeze 'weekend' has ended")]
    assert len(started) == 1 and len(ended) == 1
    assert "No deploys over the weekend" in started[0] and "web-app/staging" in started[0]


def test_status_and_the_overview_show_a_frozen_target(weekend, say, alice, client):
    reply = say("alice", "/status web-app")

    (answer,) = ConsoleMessage.objects.filter(run_id=reply.run_id).values_list("text", flat=True)
    assert "staging" in answer and "🧊 frozen by 'weekend' until " in answer
    client.force_login(alice)
    page = client.get("/").text
    assert "🧊 frozen: &#x27;weekend&#x27; until " in page
