"""The watch after a deploy (DESIGN.md "Watching after a deploy"): is what just shipped healthy?

A target's `watch` names minutes and CloudWatch alarms. When one of its deployments succeeds, the engine starts
watching it; every minute the sweep asks `check` to look at the named alarms (one `DescribeAlarms` per region)
and at the service's critical CPU and memory thresholds (the same batched `GetMetricData` as /status). Only
what began after the deploy finished counts: an alarm that went to ALARM, or a metric that rose to its critical
level, after `finished_at` (and before the window's end). What was already firing before the deploy is named
as such and does not count. The first thing that counts makes the deployment `unhealthy` at once; a window
that ends with nothing counted is `healthy`, unless some minute of it could not be read (AWS refused or
throttled, an alarm does not exist, no credentials): that minute proved nothing, so the watch ends
`unverified`, never `healthy`. A newer deployment of the target starting ends the watch.

The rules are here; every write is the engine's (`engine.record_watch`, `engine.end_watch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, Watch
from chatops_site.durations import format_moment
from integrations.aws import alarms, cloudwatch
from integrations.aws.cloudwatch import AWSNotConnected, Series
from integrations.aws.figures import figures_of, resources_of

PERIOD = timedelta(seconds=cloudwatch.PERIOD)  # one point of CPU or memory covers this long


@dataclass(frozen=True)
class Finding:
    """Something that breached, or was already breaching before the deploy: `web-5xx` `in ALARM` since 14:02."""

    what: str
    detail: str
    since: datetime

    def as_json(self) -> dict:
        return {"what": self.what, "detail": self.detail, "since": self.since.isoformat()}


@dataclass
class Look:
    """What one check saw."""

    breaches: list[Finding] = field(default_factory=list)  # began after the deploy, within the window
    before: list[Finding] = field(default_factory=list)  # already firing when the deploy finished
    problems: list[str] = field(default_factory=list)  # what could not be read


def watching() -> list[int]:
    """The deployments being watched now, for the sweep to check."""
    return list(Deployment.objects.filter(watch=Watch.WATCHING).order_by("id").values_list("pk", flat=True))


def check(deployment_id: int, now: datetime | None = None) -> Deployment | None:
    """Look once at a watched deployment and have the engine write what that means; None when not watched."""
    deployment = Deployment.objects.select_related("target__service", "target__environment").get(pk=deployment_id)
    if deployment.watch != Watch.WATCHING or deployment.finished_at is None or deployment.watch_until is None:
        return None
    newer = (
        deployment.target.deployments.filter(started_at__gt=deployment.finished_at)
        .exclude(pk=deployment.pk)
        .order_by("started_at", "id")
        .first()
    )
    if newer is not None and newer.started_at is not None:
        return engine.end_watch(
            deployment_id, f"watch ended: #{newer.pk} ({newer.version}) started at {format_moment(newer.started_at)}"
        )
    now = now or timezone.now()
    look = look_at(deployment)
    findings, state, message = judge(deployment, look, now)
    return engine.record_watch(deployment_id, deployment.watch_findings.get("checks", 0), state, findings, message)


def look_at(deployment: Deployment) -> Look:
    """Read the deployment's alarms and its service's figures from AWS, and sort what they say."""
    assert deployment.finished_at is not None and deployment.watch_until is not None  # `check` made sure
    start, end = deployment.finished_at, deployment.watch_until
    service = deployment.target.service
    region = service.aws_region or None
    where = region or "the default region"
    look = Look()
    names = list(deployment.watch_findings.get("alarms") or [])
    try:
        seen = alarms.describe(names, region)
    except AWSNotConnected as exc:
        seen = alarms.Alarms(error=f"AWS is not connected ({exc})")
    if seen.error:
        look.problems.append(f"alarms in {where}: {seen.error}")
    look.problems += [f"no alarm named {name} in {where}" for name in seen.missing]
    for alarm in seen.found.values():
        if alarm.state != "ALARM":
            continue
        finding = Finding(alarm.name, "in ALARM", alarm.since)
        if alarm.since < start:
            look.before.append(finding)
        elif alarm.since <= end:
            look.breaches.append(finding)
    if resources_of(service):
        figures = figures_of([service])
        if figures.not_connected:
            look.problems.append(f"CPU and memory: AWS is not connected ({figures.not_connected})")
        for reading in figures.readings.values():
            for label, kind, series in (("CPU", "cpu", reading.cpu), ("memory", "memory", reading.memory)):
                what = f"{label} of {reading.resource}"
                if series.error:
                    look.problems.append(f"{what}: {series.error}")
                    continue
                _over(look, what, series, service.levels[f"{kind}_critical"], start, end)
    return look


def _over(look: Look, what: str, series: Series, critical: int, start: datetime, end: datetime) -> None:
    """A metric at or above its critical level since the deploy counts from the first point of its run; a run
    that filled a whole minute before the deploy was already breaching before it.

    CloudWatch stamps each point with the start of its minute: the minute in which the deploy finished belongs
    to the deploy. A minute without data does not end a run.
    """
    began: datetime | None = None
    for moment, value in sorted(zip(series.times, series.values, strict=False)):
        if value < critical:
            began = None
            continue
        began = began or moment
        if moment + PERIOD <= start or moment > end:
            continue
        finding = Finding(what, f"at {round(value)}% (critical {critical}%)", began)
        if began + PERIOD <= start:
            if all(f.what != what for f in look.before):
                look.before.append(finding)
        elif all(f.what != what for f in look.breaches):
            look.breaches.append(finding)
            return


def judge(deployment: Deployment, look: Look, now: datetime) -> tuple[dict, str, str]:
    """The deployment's findings after this look, where its watch stands now, and what to announce (blank: nothing)."""
    assert deployment.finished_at is not None and deployment.watch_until is not None
    old = deployment.watch_findings
    known_before = {f["what"] for f in old.get("before", [])}
    new_before = [f for f in look.before if f.what not in known_before]
    findings = {
        **old,
        "checks": old.get("checks", 0) + 1,
        "failed_checks": old.get("failed_checks", 0) + (1 if look.problems else 0),
        "last_check": now.isoformat(),
        "problems": look.problems,
        "before": [*old.get("before", []), *(f.as_json() for f in new_before)],
        "breaches": [f.as_json() for f in sorted(look.breaches, key=lambda f: f.since)],
    }
    notes = [f"{f.what} ({f.detail} since {format_moment(f.since)}) was already firing before the deploy; not counted"
             for f in new_before]  # fmt: skip
    if look.breaches:
        first = min(look.breaches, key=lambda f: f.since)
        return findings, Watch.UNHEALTHY, "unhealthy: " + describe(first, deployment.finished_at)
    minutes = old.get("minutes", 0)
    if now >= deployment.watch_until:
        if findings["failed_checks"]:
            why = "; ".join(look.problems) or f"{findings['failed_checks']} of {findings['checks']} checks failed"
            return findings, Watch.UNVERIFIED, "; ".join([f"not verified after {minutes} min: {why}", *notes])
        return findings, Watch.HEALTHY, "; ".join([f"healthy after {minutes} min", *notes])
    if look.problems and look.problems != old.get("problems"):
        notes.append("could not read: " + "; ".join(look.problems))
    elif old.get("problems") and not look.problems:
        notes.append("everything reads again")
    return findings, Watch.WATCHING, "; ".join(notes)


def describe(finding: Finding, deployed: datetime) -> str:
    """`web-5xx in ALARM since 14:02 (4 min after the deploy)`."""
    minutes = int((finding.since - deployed).total_seconds() // 60)
    after = f"{minutes} min after the deploy" if minutes >= 1 else "within a minute of the deploy"
    return f"{finding.what} {finding.detail} since {format_moment(finding.since)} ({after})"


def finding(data: dict) -> Finding:
    """A finding as the deployment keeps it (`watch_findings`)."""
    return Finding(data["what"], data["detail"], datetime.fromisoformat(data["since"]))
