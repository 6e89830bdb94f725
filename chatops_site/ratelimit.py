"""Rate limits per chat user and per workspace, counted in the database so every worker shares them.

`CHATOPS_RATE_LIMIT` (e.g. "20/m") caps one chat user; `CHATOPS_WORKSPACE_RATE_LIMIT` caps a whole
Slack workspace or Discord guild. A window opens at a key's first command and lasts one period: a
fixed window, so a burst across two windows may pass up to twice the rate - enough to stop a flood,
and one small row per key with no clean-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from bots.types import Invocation, Reply
from chatops_site.durations import format_duration, parse_duration
from chatops_site.ops.models import RateWindow


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


# One statement counts a command and, when the window ran out, opens a new one; it returns the row as it
# is now. The row lock it takes makes concurrent commands from every process count one after the other.
# (SET expressions read the row as it was, so both CASEs test the old window.)
COUNT = """
INSERT INTO {table} ("key", started_at, hits) VALUES (%s, %s, 1)
ON CONFLICT ("key") DO UPDATE SET
    hits = CASE WHEN {table}.started_at <= %s THEN 1 ELSE {table}.hits + 1 END,
    started_at = CASE WHEN {table}.started_at <= %s THEN excluded.started_at ELSE {table}.started_at END
RETURNING id, hits, started_at
"""


def hit(key: str, rate: Rate, now: datetime) -> float:
    """Count one command for `key`; the seconds to wait when that went over the rate, else 0."""
    ops = connection.ops
    ran_out = ops.adapt_datetimefield_value(now - rate.period)
    sql = COUNT.format(table=connection.ops.quote_name(RateWindow._meta.db_table))
    window = next(iter(RateWindow.objects.raw(sql, [key, ops.adapt_datetimefield_value(now), ran_out, ran_out])))
    if window.hits <= rate.limit:
        return 0.0
    return max(1.0, math.ceil((window.started_at + rate.period - now).total_seconds()))


def refusal(invocation: Invocation) -> Reply | None:
    """The "slow down" answer when this command goes over a limit; None when it may run.

    The user's own limit is checked first, so one user's refused flood does not eat the workspace's.
    """
    now = timezone.now()
    place = f"{invocation.platform}:{invocation.workspace}"
    user_rate = parse_rate(settings.CHATOPS_RATE_LIMIT)
    wait = hit(f"user:{place}:{invocation.chat_user_id}", user_rate, now)
    if wait:
        return _slow_down(f"you sent more than {user_rate}", wait)
    workspace_rate = parse_rate(settings.CHATOPS_WORKSPACE_RATE_LIMIT)
    wait = hit(f"workspace:{place}", workspace_rate, now)
    if wait:
        return _slow_down(f"this workspace sent more than {workspace_rate}", wait)
    return None


def _slow_down(why: str, wait: float) -> Reply:
    return Reply(f"Slow down: {why}. Try again in {wait:.0f} s.", final=True)
