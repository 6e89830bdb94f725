"""/status: what runs where, what is in flight, and how the service's AWS resources are doing.

The command only acknowledges; a task reads CloudWatch (one request per region, cached 30 s) and
sends the answer through the run's platform, so no chat answer ever waits on AWS.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.core.cache import cache

from bots.grammar import ENVIRONMENT, SERVICE, optional
from bots.models import CommandRun
from bots.platforms import get_platform
from bots.registry import Context, command
from bots.types import Reply
from chatops_site import queue
from chatops_site.catalog.models import DeployTarget, Environment, Service
from chatops_site.deploys import engine, freezes
from chatops_site.deploys.models import ACTIVE_STATES, State
from chatops_site.durations import format_moment
from integrations.aws import cloudwatch, inventory
from integrations.aws.cloudwatch import AWSNotConnected, Reading, Resource, Series

log = logging.getLogger("chatops.commands")

CACHE_SECONDS = 30
DEFAULT_THRESHOLDS = {"cpu_warn": 70, "cpu_critical": 90, "memory_warn": 75, "memory_critical": 90}
# Worst first; what a service shows is its worst resource.
LEVELS = ["critical", "error", "warn", "ok", "no data", "none"]
MARKS = {"critical": "🔴", "error": "⚠️", "warn": "🟡", "ok": "🟢", "no data": "⚪", "none": ""}
CONNECT_AWS = (
    "AWS is not connected ({reason}), so there are no CPU or memory figures. Give ChatOps AWS "
    "credentials (an IAM role, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) with "
    "cloudwatch:GetMetricData, and AWS_DEFAULT_REGION or a region per service in the catalog."
)


@command(
    "status",
    "Show what runs where, what is in flight, and CPU/memory from AWS",
    optional(SERVICE),
    optional(ENVIRONMENT),
)
def status(ctx: Context) -> Reply:
    service, environment = ctx.args["service"], ctx.args["env"]
    run_id = ctx.run.pk
    queue.enqueue(
        "bots.commands.status.answer",
        run_id,
        service.pk if service else None,
        environment.pk if environment else None,
        group="status",
    )
    return Reply(f"Checking {service.name if service else 'every service'}...", deferred=True)


def answer(run_id: int, service_id: int | None, environment_id: int | None) -> None:
    """The task: build the status and send it to whoever asked."""
    run = CommandRun.objects.get(pk=run_id)
    try:
        reply = build(
            Service.objects.get(pk=service_id) if service_id else None,
            Environment.objects.get(pk=environment_id) if environment_id else None,
        )
    except Exception:
        log.exception("/status failed (run %s)", run_id)
        reply = Reply(f"Something went wrong with /status; it has been logged as command run {run_id}.", final=True)
    platform = get_platform(run.platform)
    if platform is None:
        log.warning("/status: run %s came from %s, which is not configured here", run_id, run.platform)
        return
    platform.send(run, reply)


def build(service: Service | None, environment: Environment | None) -> Reply:
    """One service in detail, or every service worst first: deployments, locks, work in flight, CPU and memory."""
    services = [service] if service else list(Service.objects.all())
    figures = _figures_of(services)
    blocks = []
    for each in services:
        watched = [figures.readings[r] for r in resources_of(each) if r in figures.readings]
        level = _worst(_level(each, reading) for reading in watched) if watched else "none"
        lines = _block(each, environment, watched, figures.states, level, detail=bool(service))
        blocks.append((LEVELS.index(level), each.name, lines))
    if not blocks:
        return Reply("No services yet; an admin adds them under Catalog -> Services.", final=True)
    lines = [line for _, _, block in sorted(blocks) for line in block]
    return Reply("\n".join([*lines, *([figures.note] if figures.note else [])]), final=True)


def resources_of(service: Service) -> list[Resource]:
    return [
        *(cloudwatch.ec2(instance) for instance in service.ec2_instances),
        *(cloudwatch.ecs(pair["cluster"], pair["service"]) for pair in service.ecs_services),
        *(cloudwatch.eks(cluster) for cluster in service.eks_clusters),
    ]


@dataclass
class Figures:
    """What AWS says about the resources of one answer."""

    readings: dict[Resource, Reading] = field(default_factory=dict)
    states: dict[Resource, str] = field(default_factory=dict)  # "running", "2/3 tasks"...
    note: str = ""  # why there are no figures, when there are none


def _figures_of(services: list[Service]) -> Figures:
    """Every resource's figures (one GetMetricData request per region) and state, cached for 30 s."""
    by_region: dict[str | None, list[Resource]] = {}
    for service in services:
        by_region.setdefault(service.aws_region or None, []).extend(resources_of(service))
    if not any(by_region.values()):
        names = services[0].name if len(services) == 1 else "any service"
        return Figures(
            note=f"No AWS resources are listed for {names}: add them (`aws:` in the catalog file, or the admin) "
            "to see CPU and memory here."
        )
    watched = repr(sorted((str(region), sorted(map(str, resources))) for region, resources in by_region.items()))
    cache_key = "chatops:status:" + hashlib.sha256(watched.encode()).hexdigest()
    figures = cache.get(cache_key)
    if figures is not None:
        return figures
    figures = Figures()
    try:
        for region, resources in by_region.items():
            figures.readings.update(cloudwatch.read(resources, region))
            figures.states.update(inventory.describe(resources, region))
    except AWSNotConnected as exc:
        return Figures(note=CONNECT_AWS.format(reason=exc))
    cache.set(cache_key, figures, CACHE_SECONDS)
    return figures


def _level(service: Service, reading: Reading) -> str:
    return _worst([_metric_level(service, "cpu", reading.cpu), _metric_level(service, "memory", reading.memory)])


def _metric_level(service: Service, kind: str, series: Series) -> str:
    if series.error:
        return "error"
    if series.latest is None:
        return "no data"
    thresholds = {**DEFAULT_THRESHOLDS, **(service.thresholds or {})}
    if series.latest >= thresholds[f"{kind}_critical"]:
        return "critical"
    if series.latest >= thresholds[f"{kind}_warn"]:
        return "warn"
    return "ok"


def _worst(levels) -> str:
    return min(levels, key=LEVELS.index, default="no data")


def _block(service: Service, environment, watched: list[Reading], states: dict, level: str, detail: bool) -> list[str]:
    """The service's lines: a heading with its worst figures, its environments, then each resource in detail."""
    heading = f"{MARKS[level]} {service.name}".strip()
    if watched and not detail:
        heading += "  " + _summary(service, watched)
    lines = [heading]
    targets = DeployTarget.objects.filter(service=service).select_related("environment").order_by("environment__order")
    if environment is not None:
        targets = targets.filter(environment=environment)
    lines += [f"  {target.environment.name:<10} {_describe(target)}" for target in targets]
    if detail:
        for reading in watched:
            state = f" ({states[reading.resource]})" if reading.resource in states else ""
            lines.append(f"  {MARKS[_level(service, reading)]} {reading.resource}{state}  {_figures(reading)}")
    return lines


def _summary(service: Service, watched: list[Reading]) -> str:
    """The highest CPU and memory of any resource, and which resource is worst."""
    cpu = [r.cpu.latest for r in watched if r.cpu.latest is not None]
    memory = [r.memory.latest for r in watched if r.memory.latest is not None]
    parts = [f"CPU {max(cpu)}%" if cpu else "CPU no data", f"memory {max(memory)}%" if memory else "memory no data"]
    worst = min(watched, key=lambda r: LEVELS.index(_level(service, r)))
    return " · ".join(parts) + f"  (worst: {worst.resource})"


def _figures(reading: Reading) -> str:
    if reading.cpu.latest is None and reading.memory.latest is None and not (reading.cpu.error or reading.memory.error):
        return "no data"
    return f"{_series('CPU', reading.cpu)}   {_series('memory', reading.memory)}"


def _series(label: str, series: Series) -> str:
    if series.error:
        return f"{label} error: {series.error}"
    if series.latest is None:
        return f"{label} no data"
    return f"{label} {series.latest}% {series.trend} (1h {series.low}-{series.high}%)"


def _describe(target: DeployTarget) -> str:
    current = engine.current_deployment(target)
    if current is None:
        text = "nothing deployed yet"
    else:
        who, when = current.requester, format_moment(current.finished_at or current.requested_at)
        text = f"{current.version}  (#{current.pk} by {who}, {when})"
    in_flight = list(
        target.deployments.filter(state__in=(*ACTIVE_STATES, State.QUEUED, State.AWAITING_APPROVAL)).order_by("id")
    )
    if in_flight:
        text += "; " + ", ".join(f"#{d.pk} {d.version} {d.get_state_display()}" for d in in_flight)
    lock = engine.active_lock(target)
    if lock is not None:
        text += f"; 🔒 {lock.locked_by.get_username()}" + (f": {lock.reason}" if lock.reason else "")
    frozen = freezes.holding(target)
    if frozen is not None:
        text += f"; 🧊 frozen by '{frozen[0].name}' until {freezes.when(frozen[0], frozen[1][1])}"
    return text
