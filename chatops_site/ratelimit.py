"""Rate limits per chat user and per workspace, counted from the audit trail so every worker shares them.

`CHATOPS_RATE_LIMIT` (e.g. "20/m") caps one chat user; `CHATOPS_WORKSPACE_RATE_LIMIT` caps a whole
Slack workspace or Discord guild. The count is the commands (`CommandRun` rows) received in the last
period, a sliding window: there is no counter row that every command of a workspace would have to
lock. Commands already refused for speed do not count, so a user who keeps trying is let in as soon
as the window allows, and one user's refused flood does not use up the workspace's limit. On
PostgreSQL, commands still in flight in other transactions are not seen, so a burst may pass a few
more than the limit: enough to stop a flood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from bots.models import CommandRun, Outcome
from bots.types import Invocation, Reply
from chatops_site.durations import format_duration, parse_duration


@dataclass(frozen=True)
class Rate:
    limit: int
    period: timedelta

    def __str__(self) -> str:
        return f"{self.limit} commands in {format_duration(self.period)}"


def parse_rate(text: str) -> Rate:
    """`20/m`, `100/h`, `5/10s`: how many commands per period."""
    count, slash, per = str(text).strip().lower().partition("/")
    try:
        if not slash or not count.isdigit() or int(count) < 1:
            raise ValueError
        period = parse_duration(f"1{per}" if per in ("s", "m", "h", "d") else per)
        if period.total_seconds() <= 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"{text!r} is not a rate (write e.g. 20/m, 100/h or 5/10s)") from None
    return Rate(int(count), period)


def refusal(invocation: Invocation) -> Reply | None:
    """The "slow down" answer when this command goes over a limit; None when it may run.

    Called in the command's transaction, after its own audit row is written, so that row counts. Both
    counts are one query, since every command pays for it.
    """
    now = timezone.now()
    user_rate = parse_rate(settings.CHATOPS_RATE_LIMIT)
    workspace_rate = parse_rate(settings.CHATOPS_WORKSPACE_RATE_LIMIT)
    place = CommandRun.objects.filter(platform=invocation.platform, workspace=invocation.workspace).exclude(
        outcome=Outcome.RATE_LIMITED
    )
    mine = Q(chat_user_id=invocation.chat_user_id)
    counts = place.filter(received_at__gt=now - max(user_rate.period, workspace_rate.period)).aggregate(
        user=Count("pk", filter=mine & Q(received_at__gt=now - user_rate.period)),
        workspace=Count("pk", filter=Q(received_at__gt=now - workspace_rate.period)),
    )
    if counts["user"] > user_rate.limit:
        return _slow_down(f"you sent more than {user_rate}", _wait(place.filter(mine), user_rate, now))
    if counts["workspace"] > workspace_rate.limit:
        return _slow_down(f"this workspace sent more than {workspace_rate}", _wait(place, workspace_rate, now))
    return None


def _wait(runs: QuerySet, rate: Rate, now: datetime) -> float:
    """Seconds until fewer than `rate.limit` of these runs are left in the window (they are over it)."""
    recent = runs.filter(received_at__gt=now - rate.period)
    over = max(1, recent.count() - rate.limit)
    # The window must lose `over` runs, oldest first; the last of them leaves at its time + the period.
    leaves = recent.order_by("received_at").values_list("received_at", flat=True)[over - 1]
    return max(1.0, math.ceil((leaves + rate.period - now).total_seconds()))


def _slow_down(why: str, wait: float) -> Reply:
    return Reply(f"Slow down: {why}. Try again in {wait:.0f} s.", final=True)
