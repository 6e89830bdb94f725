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
from django.db import transaction
from django.db.models import Case, F, Value, When
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


def hit(key: str, rate: Rate, now: datetime) -> float:
    """Count one command for `key`; the seconds to wait when that went over the rate, else 0."""
    ran_out = now - rate.period
    with transaction.atomic():
        RateWindow.objects.get_or_create(key=key, defaults={"started_at": now})
        # One UPDATE both counts and, when the window ran out, opens a new one; the row lock it takes
        # makes concurrent commands from other processes count one after the other.
        RateWindow.objects.filter(key=key).update(
            hits=Case(When(started_at__lte=ran_out, then=Value(1)), default=F("hits") + 1),
            started_at=Case(When(started_at__lte=ran_out, then=Value(now)), default=F("started_at")),
        )
        hits, started_at = RateWindow.objects.filter(key=key).values_list("hits", "started_at").get()
    if hits <= rate.limit:
        return 0.0
    return max(1.0, math.ceil((started_at + rate.period - now).total_seconds()))


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
