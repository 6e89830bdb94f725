"""The watch after a deploy, with moto: alarms made with `put_metric_alarm` and moved with `set_alarm_state`.

A deploy of web-app to staging runs to `succeeded` on the simulated provider inside `say(...)`; the sweep, run
as the scheduler runs it each minute, then looks at the watched deployment. The window's end is brought
forward by setting `watch_until` in the past, rather than waiting for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber
from django.contrib.auth import get_user_model
from django.utils import timezone

from bots.models import ConsoleMessage
from chatops_site.catalog.models import DeployTarget, Environment, Service
from chatops_site.deploys import tasks
from chatops_site.deploys.models import Deployment, Freeze, Kind, Lock, State, Watch
from integrations.aws import client

WATCH = {"minutes": 2, "alarms": ["web-5xx"], "auto_rollback": False}


def put_alarm(name: str) -> None:
    client("cloudwatch", None).put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )


def set_alarm(name: str, state: str) -> None:
    client("cloudwatch", None).set_alarm_state(AlarmName=name, StateValue=state, StateReason="set by the test")


@pytest.fixture
def watched(aws, catalog):
    """web-app's staging target watches the alarm web-5xx for 2 minutes; the alarm exists and is OK."""
    put_alarm("web-5xx")

    def watch(**changes):
        DeployTarget.objects.filter(service__name="web-app", environment__name="staging").update(
            watch={**WATCH, **changes}
        )

    watch()
    return watch


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """One minute's sweep, its tasks run as a worker would run them; returns the deployment given, fresh."""

    def run(deployment: Deployment | None = None) -> Deployment | None:
        with django_capture_on_commit_callbacks(execute=True):
            tasks.sweep()
        if deployment is not None:
            deployment.refresh_from_db()
        return deployment

    return run


@pytest.fixture
def describe_alarms_calls():
    calls: list[dict] = []
    events = client("cloudwatch", None).meta.events

    def record(params, **kwargs):
        calls.append(params)

    events.register("provide-client-params.monitoring.DescribeAlarms", record, unique_id="test-describe-alarms")
    yield calls
    events.unregister("provide-client-params.monitoring.DescribeAlarms", unique_id="test-describe-alarms")


def deployed(say, version: str, user: str = "alice") -> Deployment:
    say(user, f"/deploy web-app staging {version}")
    deployment = Deployment.objects.filter(version=version).latest("id")
    assert deployment.state == State.SUCCEEDED
    return deployment


def window_ends(deployment: Deployment) -> None:
    Deployment.objects.filter(pk=deployment.pk).update(watch_until=timezone.now() - timedelta(seconds=1))


def channel() -> list[str]:
    """What the target's channel (console:ops) was told, oldest first."""
    return list(ConsoleMessage.objects.filter(channel="ops").order_by("id").values_list("text", flat=True))


def test_an_untouched_deploy_is_watched_and_ends_healthy_after_its_minutes(watched, say, sweep, describe_alarms_calls):
    deployment = deployed(say, "v1")

    assert deployment.watch == Watch.WATCHING
    assert deployment.watch_until == deployment.finished_at + timedelta(minutes=2)
    assert "succeeded · 👀 watching, 2 min left" in channel()[-1]
    assert "Watching: web-5xx, CPU/memory critical until" in channel()[-1]

    sweep(deployment)
    assert (deployment.watch, deployment.watch_findings["checks"]) == (Watch.WATCHING, 1)
    assert describe_alarms_calls == [{"AlarmNames": ["web-5xx"], "AlarmTypes": ["CompositeAlarm", "MetricAlarm"]}]

    window_ends(deployment)
    sweep(deployment)

    assert deployment.watch == Watch.HEALTHY
    healthy = f"✅ Deploy #{deployment.pk} of web-app v1 to staging succeeded · 💚 healthy after 2 min"
    assert channel()[-1].startswith(healthy)
    assert [n["text"] for n in deployment.watch_findings["timeline"]] == [
        "watching for 2 min: web-5xx, CPU/memory critical",
        "healthy after 2 min",
    ]
    sweep(deployment)  # a watch that ended is not looked at again
    assert len(describe_alarms_calls) == 2


def test_an_alarm_going_off_after_the_deploy_makes_it_unhealthy_and_offers_the_rollback(watched, say, sweep):
    deployed(say, "v1")
    deployment = deployed(say, "v2")

    set_alarm("web-5xx", "ALARM")
    sweep(deployment)

    assert deployment.watch == Watch.UNHEALTHY
    (breach,) = deployment.watch_findings["breaches"]
    assert (breach["what"], breach["detail"]) == ("web-5xx", "in ALARM")
    since = datetime.fromisoformat(breach["since"])
    assert deployment.finished_at <= since <= timezone.now()
    message = channel()[-1]
    assert message.startswith(
        f"✅ Deploy #{deployment.pk} of web-app v2 to staging succeeded · ⚠️ unhealthy: web-5xx in ALARM since "
        f"{timezone.localtime(since):%H:%M} (within a minute of the deploy)"
    )
    assert message.endswith("[Roll back: /rollback web-app staging v1]")
    assert not Deployment.objects.filter(kind=Kind.ROLLBACK).exists()  # people decide: no auto_rollback here

    events = deployment.events.count()
    sweep(deployment)  # the verdict stands; nothing is said twice
    assert channel()[-1] == message and deployment.events.count() == events


def test_the_rollback_button_runs_rollback_as_whoever_clicks(watched, say, sweep):
    deployed(say, "v1")
    deployment = deployed(say, "v2")
    set_alarm("web-5xx", "ALARM")
    sweep(deployment)

    refused = say("carol", "/rollback web-app staging v1")  # what the button runs, as carol
    assert refused.text == "carol may not rollback web-app in staging: ask an admin for the 'rollback' grant."
    assert not Deployment.objects.filter(kind=Kind.ROLLBACK).exists()

    say("alice", "/rollback web-app staging v1")
    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert (rollback.version, rollback.rollback_of, rollback.requested_by.username) == ("v1", deployment, "alice")
    assert rollback.state == State.SUCCEEDED


def test_auto_rollback_requests_exactly_one_rollback_announced_as_the_watchs(watched, say, sweep):
    watched(auto_rollback=True)
    deployed(say, "v1")
    deployment = deployed(say, "v2")

    set_alarm("web-5xx", "ALARM")
    sweep(deployment)
    sweep(deployment)

    assert deployment.watch == Watch.UNHEALTHY
    (rollback,) = Deployment.objects.filter(kind=Kind.ROLLBACK)
    assert (rollback.version, rollback.rollback_of, rollback.by_watch) == ("v1", deployment, True)
    assert rollback.state == State.SUCCEEDED  # on the simulated provider, inside the sweep's tasks
    assert rollback.requested_by.username == "watch" and not rollback.requested_by.is_active
    assert deployment.watch_findings["rollback"] == rollback.pk
    requested = rollback.events.order_by("id").first()
    assert requested.message == f"rollback of v1 requested by the watch, as #{deployment.pk} turned unhealthy"
    said = "\n".join(channel())
    assert "unhealthy: web-5xx in ALARM since" in said
    assert f"; rolling back to v1: #{rollback.pk}, requested by the watch" in deployment.events.last().message
    assert f"Requested by: the watch, as #{deployment.pk} turned unhealthy" in said
    assert "[Roll back" not in channel()[-1]
    # The rollback is watched too; the alarm was firing before it finished, so it does not count against it.
    rollback.refresh_from_db()
    assert rollback.watch == Watch.WATCHING
    sweep(rollback)
    assert rollback.watch == Watch.WATCHING and rollback.watch_findings["before"][0]["what"] == "web-5xx"


def test_a_rollback_that_turns_unhealthy_is_never_rolled_back_by_the_watch(watched, say, sweep):
    watched(auto_rollback=True)
    deployed(say, "v1")
    deployment = deployed(say, "v2")
    set_alarm("web-5xx", "ALARM")
    sweep(deployment)
    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)

    set_alarm("web-5xx", "OK")
    set_alarm("web-5xx", "ALARM")
    sweep(rollback)

    assert rollback.watch == Watch.UNHEALTHY
    assert Deployment.objects.filter(kind=Kind.ROLLBACK).count() == 1
    assert "rollback" not in rollback.watch_findings


def test_the_watchs_rollback_passes_a_freeze_but_not_a_lock(watched, say, sweep, alice):
    watched(auto_rollback=True)
    deployed(say, "v1")
    first = deployed(say, "v2")
    now = timezone.now()
    freeze = Freeze.objects.create(name="incident", start=now, end=now + timedelta(hours=1))
    freeze.environments.add(Environment.objects.get(name="staging"))

    set_alarm("web-5xx", "ALARM")
    sweep(first)

    rollback = Deployment.objects.get(kind=Kind.ROLLBACK)
    assert rollback.state == State.SUCCEEDED
    assert rollback.events.order_by("id").first().message.endswith(", through the freeze 'incident'")

    # Later, v3 ships and turns unhealthy while bob's lock holds the target: the watch may not pass it.
    freeze.delete()
    set_alarm("web-5xx", "OK")
    second = deployed(say, "v3")
    target = DeployTarget.objects.get(service__name="web-app", environment__name="staging")
    Lock.objects.create(target=target, locked_by=get_user_model().objects.get(username="bob"), reason="db migration")
    set_alarm("web-5xx", "ALARM")
    sweep(second)

    assert Deployment.objects.filter(kind=Kind.ROLLBACK).count() == 1
    assert second.watch_findings["rollback_refused"].startswith("web-app/staging is locked by bob since")
    assert "Not rolled back: web-app/staging is locked by bob" in channel()[-1]


def test_an_alarm_already_firing_before_the_deploy_is_named_and_does_not_count(watched, say, sweep):
    set_alarm("web-5xx", "ALARM")
    deployment = deployed(say, "v1")

    sweep(deployment)

    assert deployment.watch == Watch.WATCHING
    assert deployment.watch_findings["breaches"] == []
    assert [f["what"] for f in deployment.watch_findings["before"]] == ["web-5xx"]
    assert "web-5xx (in ALARM since" in deployment.events.last().message
    assert deployment.events.last().message.endswith("was already firing before the deploy; not counted")
    assert "Already firing before the deploy (not counted): web-5xx in ALARM since" in channel()[-1]
    window_ends(deployment)
    sweep(deployment)
    assert deployment.watch == Watch.HEALTHY


def test_a_missing_alarm_is_shown_as_such_and_the_watch_is_never_healthy(watched, say, sweep):
    watched(alarms=["web-5xx", "web-p99"])
    deployment = deployed(say, "v1")

    sweep(deployment)

    assert deployment.watch_findings["problems"] == ["no alarm named web-p99 in the default region"]
    assert deployment.events.last().message == "could not read: no alarm named web-p99 in the default region"
    assert "Watch could not read: no alarm named web-p99 in the default region" in channel()[-1]
    window_ends(deployment)
    sweep(deployment)
    assert deployment.watch == Watch.UNVERIFIED
    unverified = f"✅ Deploy #{deployment.pk} of web-app v1 to staging succeeded · ❔ not verified after 2 min"
    assert channel()[-1].startswith(unverified)
    assert deployment.events.last().message == (
        "not verified after 2 min: no alarm named web-p99 in the default region"
    )


@pytest.mark.parametrize(
    ("code", "text"),
    [("Throttling", "Rate exceeded"), ("AccessDenied", "not authorized to perform: cloudwatch:DescribeAlarms")],
)
def test_aws_refusing_is_shown_on_the_watch_and_a_window_with_it_is_not_healthy(watched, say, sweep, code, text):
    deployment = deployed(say, "v1")

    with Stubber(client("cloudwatch", None)) as stub:
        stub.add_client_error("describe_alarms", code, text)
        sweep(deployment)
    window_ends(deployment)
    sweep(deployment)  # AWS answers again: that one minute still proved nothing

    assert deployment.watch == Watch.UNVERIFIED
    assert deployment.watch_findings["failed_checks"] == 1
    timeline = [n["text"] for n in deployment.watch_findings["timeline"]]
    assert timeline[1] == f"could not read: alarms in the default region: DescribeAlarms: {code}: {text}"
    assert timeline[-1] == "not verified after 2 min: 1 of 2 checks failed"


def put_cpu(when: datetime, value: float) -> None:
    """One point of ECS prod/web's CPU (CloudWatch files it under the start of its minute)."""
    dimensions = [{"Name": "ClusterName", "Value": "prod"}, {"Name": "ServiceName", "Value": "web"}]
    client("cloudwatch", None).put_metric_data(
        Namespace="AWS/ECS",
        MetricData=[{"MetricName": "CPUUtilization", "Dimensions": dimensions, "Timestamp": when, "Value": value}],
    )


def test_a_metric_rising_past_its_critical_level_after_the_deploy_counts(watched, say, sweep):
    Service.objects.filter(name="web-app").update(ecs_services=[{"cluster": "prod", "service": "web"}])
    deployment = deployed(say, "v1")
    put_cpu(deployment.finished_at - timedelta(minutes=3), 40)
    put_cpu(datetime.now(UTC), 96.4)

    sweep(deployment)

    assert deployment.watch == Watch.UNHEALTHY
    assert deployment.events.last().message.startswith("unhealthy: CPU of ECS prod/web at 96% (critical 90%) since ")


def test_cpu_already_over_its_critical_level_before_the_deploy_does_not_count(watched, say, sweep):
    Service.objects.filter(name="web-app").update(ecs_services=[{"cluster": "prod", "service": "web"}])
    put_cpu(datetime.now(UTC) - timedelta(minutes=2), 95)
    deployment = deployed(say, "v1")
    put_cpu(datetime.now(UTC), 97)

    sweep(deployment)

    assert deployment.watch == Watch.WATCHING
    assert [f["what"] for f in deployment.watch_findings["before"]] == ["CPU of ECS prod/web"]
    assert deployment.events.last().message.startswith("CPU of ECS prod/web (at 97% (critical 90%) since ")


def test_a_newer_deploy_of_the_target_ends_the_previous_watch(watched, say, sweep):
    first = deployed(say, "v1")
    second = deployed(say, "v2")

    first.refresh_from_db()
    assert first.watch == Watch.ENDED
    assert first.events.last().message == f"watch ended by #{second.pk} (v2), which succeeded"
    assert second.watch == Watch.WATCHING


def test_a_newer_deploy_that_started_ends_the_watch_at_the_next_check(watched, say, sweep):
    deployment = deployed(say, "v1")
    DeployTarget.objects.filter(service__name="web-app", environment__name="staging").update(settings={"delay": "1h"})
    say("alice", "/deploy web-app staging v2")

    sweep(deployment)

    assert deployment.watch == Watch.ENDED
    newer = Deployment.objects.get(version="v2")
    assert deployment.events.last().message.startswith(f"watch ended: #{newer.pk} (v2) started at ")


def test_a_target_without_a_watch_is_not_watched(aws, catalog, say, describe_alarms_calls, sweep):
    deployment = deployed(say, "v1")

    sweep(deployment)

    assert deployment.watch == Watch.NONE and describe_alarms_calls == []
    assert channel()[-1].endswith("succeeded") or "👀" not in channel()[-1]


def test_status_shows_the_targets_under_watch(watched, say, sweep):
    deployed(say, "v1")

    say("carol", "/status web-app")

    (answer,) = ConsoleMessage.objects.filter(run__command="status", final=True)
    (line,) = [line for line in answer.text.splitlines() if line.strip().startswith("staging")]
    assert line.endswith("👀 watching, 2 min left")


def test_without_aws_credentials_the_watch_says_so_and_is_never_healthy(no_aws, catalog, say, sweep):
    DeployTarget.objects.filter(service__name="web-app", environment__name="staging").update(watch=WATCH)
    deployment = deployed(say, "v1")

    sweep(deployment)
    window_ends(deployment)
    sweep(deployment)

    assert deployment.watch == Watch.UNVERIFIED
    assert deployment.watch_findings["problems"] == [
        "alarms in the default region: AWS is not connected (Unable to locate credentials)"
    ]
