"""When a freeze holds: its windows in its own time zone, the ones in force, and how a refusal names them.

Cron schedules are read in wall time of the freeze's zone and only then placed on the timeline, so a
window at "0 16 * * fri" in Europe/Berlin starts at 16:00 Berlin in winter and in summer; its duration is
elapsed time from that start, so 64h from Friday 16:00 ends Monday 08:00, or 09:00 on the weekend the
clocks go forward. Windows of one freeze that overlap or touch hold as one: the one in force is their run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from django.db.models import QuerySet
from django.utils import timezone

from chatops_site import sql
from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys.models import Freeze, Kind
from chatops_site.durations import format_duration

Window = tuple[datetime, datetime]

# A scheduled window that lasts longer than its period overlaps the next ones: look this many starts back
# and ahead. A freeze whose windows chain further (one that never ends) is reported as ending after these.
OVERLAPS_LOOKED_AT = 4


def zone(freeze: Freeze) -> ZoneInfo:
    return ZoneInfo(freeze.time_zone)


def problems(freeze: Freeze) -> dict[str, str]:
    """What is wrong with a freeze as written, by field: the admin, the catalog file and the API say it."""
    found: dict[str, str] = {}
    try:
        ZoneInfo(freeze.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        found["time_zone"] = f"'{freeze.time_zone}' is not an IANA time zone (e.g. Europe/Berlin)"
    if freeze.schedule:
        if len(freeze.schedule.split()) != 5 or not croniter.is_valid(freeze.schedule):
            found["schedule"] = f"'{freeze.schedule}' is not a 5-field cron expression (e.g. \"0 16 * * fri\")"
        if not freeze.duration or freeze.duration <= timedelta(0):
            found["duration"] = "a schedule needs a duration (e.g. 64h)"
        if freeze.start or freeze.end:
            found["start"] = "give either a schedule and a duration, or a start and an end, not both"
    elif not (freeze.start and freeze.end):
        found["schedule"] = "give a schedule and a duration, or a start and an end"
    elif freeze.end <= freeze.start:
        found["end"] = "the end must come after the start"
    elif freeze.duration is not None:
        found["duration"] = "a one-off window lasts from its start to its end: a duration goes with a schedule"
    return found


def window_at(freeze: Freeze, moment: datetime) -> Window | None:
    """The freeze's window in force at `moment` (start included, end not), or None.

    A scheduled window runs from its cron start, placed in the freeze's zone, for `duration` of elapsed
    time. When windows of the freeze overlap or touch, the answer is their whole run: from the first
    start to the last end, which is when the freeze stops holding.
    """
    if not freeze.schedule:
        if freeze.start and freeze.end and freeze.start <= moment < freeze.end:
            return freeze.start, freeze.end
        return None
    assert freeze.duration is not None
    duration = freeze.duration
    # croniter looks back from whole seconds: a moment a fraction of a second before a start is not in it.
    local = moment.astimezone(zone(freeze)).replace(tzinfo=None, microsecond=0)
    back = croniter(freeze.schedule, local + timedelta(seconds=1))
    first = _placed(freeze, back.get_prev(datetime))  # the last start at or before `moment`
    end = first + duration
    if end <= moment:
        return None  # earlier windows started earlier and last as long: they ended too
    for _ in range(OVERLAPS_LOOKED_AT):
        earlier = _placed(freeze, back.get_prev(datetime))
        if earlier + duration < first:
            break
        first = earlier
    ahead = croniter(freeze.schedule, local)
    for _ in range(OVERLAPS_LOOKED_AT):
        later = _placed(freeze, ahead.get_next(datetime))
        if later > end:
            break
        end = max(end, later + duration)
    return first, end


def next_window(freeze: Freeze, after: datetime) -> Window | None:
    """The first window that starts after `after`."""
    if not freeze.schedule:
        return (freeze.start, freeze.end) if freeze.start and freeze.end and freeze.start > after else None
    assert freeze.duration is not None
    local = after.astimezone(zone(freeze)).replace(tzinfo=None)
    start = _placed(freeze, croniter(freeze.schedule, local).get_next(datetime))
    return start, start + freeze.duration


def _placed(freeze: Freeze, wall: datetime) -> datetime:
    """A wall time of the freeze's zone on the timeline (in a daylight-saving gap, as if before the change)."""
    return wall.replace(tzinfo=zone(freeze)).astimezone(UTC)


def applies(freeze: Freeze, target: DeployTarget) -> bool:
    if not freeze.environments.filter(pk=target.environment_id).exists():
        return False
    services = freeze.services.all()
    return not services.exists() or services.filter(pk=target.service_id).exists()


def holding(
    target: DeployTarget, kind: str = Kind.DEPLOY, moment: datetime | None = None
) -> tuple[Freeze, Window] | None:
    """The freeze that holds the target now (the one ending last, when several do), or None."""
    if not sql.exists(Freeze.environments.through, environment=target.environment_id):  # mostly none (sql.py)
        return None
    candidates = Freeze.objects.filter(environments=target.environment_id)
    if kind == Kind.ROLLBACK:
        candidates = candidates.filter(rollbacks=False)
    return frozen_by(target, in_force(candidates, moment))


InForce = tuple[Freeze, Window, set[int], set[int]]


def in_force(chosen: QuerySet[Freeze] | None = None, moment: datetime | None = None) -> list[InForce]:
    """The freezes in force, each with its window, environment ids and service ids (empty: every service);
    read once for a page or a /status of many targets."""
    moment = moment or timezone.now()
    found = []
    for freeze in (Freeze.objects.all() if chosen is None else chosen).prefetch_related("environments", "services"):
        window = window_at(freeze, moment)
        if window is not None:
            environments = {e.pk for e in freeze.environments.all()}
            found.append((freeze, window, environments, {s.pk for s in freeze.services.all()}))
    return found


def frozen_by(target: DeployTarget, found: list[InForce]) -> tuple[Freeze, Window] | None:
    """Which of the freezes in force holds the target (the one ending last), or None."""
    holding = [
        (freeze, window)
        for freeze, window, environments, services in found
        if target.environment_id in environments and (not services or target.service_id in services)
    ]
    return max(holding, key=lambda pair: pair[1][1], default=None)


def when(freeze: Freeze, moment: datetime) -> str:
    """ "Mon 08:00 Europe/Berlin (07:00 UTC)": a moment in the freeze's zone and in UTC."""
    local = moment.astimezone(zone(freeze))
    utc = moment.astimezone(UTC)
    same_day = local.date() == utc.date()
    in_utc = utc.strftime("%H:%M" if same_day else "%a %H:%M")
    return f"{local:%a %Y-%m-%d %H:%M} {freeze.time_zone} ({in_utc} UTC)"


def refusal(freeze: Freeze, window: Window, target: DeployTarget) -> str:
    text = f"{target} is frozen by '{freeze.name}'"
    if freeze.reason:
        text += f": {freeze.reason}"
    left = format_duration(window[1] - timezone.now())
    return f"{text}. It ends {when(freeze, window[1])}, in {left}."
