"""/status: what runs where, what is in flight, and how the service's AWS resources are doing.

The command only acknowledges; a task reads CloudWatch (one request per region, cached 30 s) and
sends the answer through the run's platform, so no chat answer ever waits on AWS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.utils import timezone

from bots.deployment_messages import watch_summary
from bots.grammar import ENVIRONMENT, SERVICE, optional
from bots.models import CommandRun
from bots.platforms import get_platform
from bots.registry import Context, command
from bots.types import Reply
from chatops_site import queue
from chatops_site.catalog.models import DeployTarget, Environment, Service
from chatops_site.deploys import engine, freezes
from chatops_site.deploys.models import ACTIVE_STATES, WAITING_STATES, Deployment, Lock, Watch
from chatops_site.durations import format_moment
from integrations.aws.cloudwatch import Reading, Series
from integrations.aws.figures import figures_of, resources_of

log = logging.getLogger("chatops.commands")

# Worst first; what a service shows is its worst resource.
LEVELS = ["critical", "error", "warn", "ok", "no data", "none"]
MARKS = {"critical": "🔴", "error": "⚠️", "warn": "🟡", "ok": "🟢", "no data": "⚪", "none": ""}


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
        reply = read_since(run.received_at, service_id, environment_id)
    except Exception:
        log.exception("/status failed (run %s)", run_id)
        reply = Reply(f"Something went wrong with /status; it has been logged as command run {run_id}.", final=True)
    platform = get_platform(run.platform)
    if platform is None:
        log.warning("/status: run %s came from %s, which is not configured here", run_id, run.platform)
        return
    platform.send(run, reply)


# A status read is shared at most this long after it began, however clocks move.
REUSED_FOR = timedelta(seconds=5)
# The last status this process built for each question (service id, environment id): when its reads began,
# and the answer.
_last_read: dict[tuple[int | None, int | None], tuple[datetime, Reply]] = {}


def read_since(received_at: datetime, service_id: int | None, environment_id: int | None) -> Reply:
    """The status as read after `received_at`: the last one this process built, if its reads began later.

    During an incident everyone types /status at once; each answer still reflects everything that happened
    before its command arrived, while the queue worker reads the database once per moment rather than once
    per command. (Arrival is the web server's clock, the read's the worker's: the same machine's, or clocks
    kept in step.)
    """
    question = (service_id, environment_id)
    last = _last_read.get(question)
    began = timezone.now()
    if last is not None and received_at < last[0] <= began < last[0] + REUSED_FOR:
        return replace(last[1])
    reply = build(
        Service.objects.get(pk=service_id) if service_id else None,
        Environment.objects.get(pk=environment_id) if environment_id else None,
    )
    _last_read[question] = (began, reply)
    return replace(reply)


def build(service: Service | None, environment: Environment | None) -> Reply:
    """One service in detail, or every service worst first: deployments, locks, work in flight, CPU and memory."""
    services = [service] if service else list(Service.objects.all())
    figures = figures_of(services)
    places = _Places.read(services, environment)
    blocks = []
    for each in services:
        watched = [figures.readings[r] for r in resources_of(each) if r in figures.readings]
        level = _worst(_level(each, reading) for reading in watched) if watched else "none"
        lines = _block(each, places, watched, figures.states, level, detail=bool(service))
        blocks.append((LEVELS.index(level), each.name, lines))
    if not blocks:
        return Reply("No services yet; an admin adds them under Catalog -> Services.", final=True)
    lines = [line for _, _, block in sorted(blocks) for line in block]
    return Reply("\n".join([*lines, *([figures.note] if figures.note else [])]), final=True)


@dataclass
class _Places:
    """What /status says about each target, read for all of them at once rather than target by target."""

    targets: list[DeployTarget]
    current: dict[int, Deployment]
    in_flight: dict[int, list[Deployment]]
    locks: dict[int, Lock]
    freezes: list[freezes.InForce]

    @classmethod
    def read(cls, services: list[Service], environment: Environment | None) -> _Places:
        targets = DeployTarget.objects.filter(service__in=services).select_related("environment")
        if environment is not None:
            targets = targets.filter(environment=environment)
        in_flight: dict[int, list[Deployment]] = {}
        waiting = Deployment.objects.filter(target__in=targets, state__in=(*ACTIVE_STATES, *WAITING_STATES))
        for deployment in waiting.order_by("id"):
            in_flight.setdefault(deployment.target_id, []).append(deployment)
        return cls(
            list(targets.order_by("environment__order")),
            engine.current_deployments(targets),
            in_flight,
            engine.active_locks(targets),
            freezes.in_force(),
        )

    def of(self, service: Service) -> list[DeployTarget]:
        return [target for target in self.targets if target.service_id == service.pk]

    def describe(self, target: DeployTarget) -> str:
        current = self.current.get(target.pk)
        if current is None:
            text = "nothing deployed yet"
        else:
            who, when = current.requester, format_moment(current.finished_at or current.requested_at)
            text = f"{current.version}  (#{current.pk} by {who}, {when})"
            if current.watch in (Watch.WATCHING, Watch.UNHEALTHY, Watch.UNVERIFIED):
                text += " " + watch_summary(current)
        in_flight = self.in_flight.get(target.pk, [])
        if in_flight:
            text += "; " + ", ".join(f"#{d.pk} {d.version} {d.get_state_display()}" for d in in_flight)
        lock = self.locks.get(target.pk)
        if lock is not None:
            text += f"; 🔒 {lock.locked_by.get_username()}" + (f": {lock.reason}" if lock.reason else "")
        frozen = freezes.frozen_by(target, self.freezes)
        if frozen is not None:
            text += f"; 🧊 frozen by '{frozen[0].name}' until {freezes.when(frozen[0], frozen[1][1])}"
        return text


def _level(service: Service, reading: Reading) -> str:
    return _worst([_metric_level(service, "cpu", reading.cpu), _metric_level(service, "memory", reading.memory)])


def _metric_level(service: Service, kind: str, series: Series) -> str:
    if series.error:
        return "error"
    if series.latest is None:
        return "no data"
    levels = service.levels
    if series.latest >= levels[f"{kind}_critical"]:
        return "critical"
    if series.latest >= levels[f"{kind}_warn"]:
        return "warn"
    return "ok"


def _worst(levels) -> str:
    return min(levels, key=LEVELS.index, default="no data")


def _block(service: Service, places: _Places, watched: list[Reading], states: dict, level: str, detail: bool):
    """The service's lines: a heading with its worst figures, its environments, then each resource in detail."""
    heading = f"{MARKS[level]} {service.name}".strip()
    if watched and not detail:
        heading += "  " + _summary(service, watched)
    lines = [heading]
    lines += [f"  {target.environment.name:<10} {places.describe(target)}" for target in places.of(service)]
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
