"""Rate limits per chat user and per workspace, counted from the audit trail so every worker shares them.

`CHATOPS_RATE_LIMIT` (e.g. "20/m") caps one chat user; `CHATOPS_WORKSPACE_RATE_LIMIT` caps a whole
Slack workspace or Discord guild. The count is the commands (`CommandRun` rows) received in the last
period, a sliding window: there is no counter row that every command of a workspace would have to
lock. Commands already refused for speed do not count, so a user who keeps trying is let in as soon
as the window allows, and one user's refused flood does not use up the workspace's limit. On
PostgreSQL, commands still in flight in other transactions are not seen, so a burst may pass a few
more than the limit: enough to stop a flood.

Every command pays for the count, so it is one statement, written out rather than built by the ORM on
each call, and each count stops at one past its limit: a busy workspace's window may hold thousands of
commands, and only whether there are more than the limit matters.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from bots.models import CommandRun, Outcome
from bots.types import Invocation, Reply
from chatops_site import sql
from chatops_site.durations import format_duration, parse_duration


@dataclass(frozen=True)
class Rate:
    limit: int
    period: timedelta

    def __str__(self) -> str:
        return f"{self.limit} commands in {format_duration(self.period)}"


@functools.cache
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
    since = CommandRun._meta.get_field("received_at").get_db_prep_value
    with connection.cursor() as cursor:
        cursor.execute(
            _counts_sql(),
            [
                *(invocation.platform, invocation.workspace, invocation.chat_user_id, Outcome.RATE_LIMITED),
                *(since(now - user_rate.period, connection), user_rate.limit + 1),
                *(invocation.platform, invocation.workspace, Outcome.RATE_LIMITED),
                *(since(now - workspace_rate.period, connection), workspace_rate.limit + 1),
            ],
        )
        user_count, workspace_count = cursor.fetchone()
    if user_count <= user_rate.limit and workspace_count <= workspace_rate.limit:
        return None
    place = CommandRun.objects.filter(platform=invocation.platform, workspace=invocation.workspace).exclude(
        outcome=Outcome.RATE_LIMITED
    )
    if user_count > user_rate.limit:
        mine = place.filter(chat_user_id=invocation.chat_user_id)
        return _slow_down(f"you sent more than {user_rate}", _wait(mine, user_rate, now))
    return _slow_down(f"this workspace sent more than {workspace_rate}", _wait(place, workspace_rate, now))


@functools.cache
def _counts_sql() -> str:
    """The chat user's and the workspace's commands in their windows, each counted up to a cap."""
    platform, workspace, user, outcome, received = (
        sql.column(CommandRun, field) for field in ("platform", "workspace", "chat_user_id", "outcome", "received_at")
    )
    place = f"{sql.table(CommandRun)} WHERE {platform} = %s AND {workspace} = %s"
    counted = f"{outcome} <> %s AND {received} > %s LIMIT %s"
    user_runs = f"SELECT 1 FROM {place} AND {user} = %s AND {counted}"  # noqa: S608  (see chatops_site/sql.py)
    workspace_runs = f"SELECT 1 FROM {place} AND {counted}"  # noqa: S608
    return f"SELECT (SELECT COUNT(*) FROM ({user_runs}) u), (SELECT COUNT(*) FROM ({workspace_runs}) w)"  # noqa: S608


def _wait(runs: QuerySet, rate: Rate, now: datetime) -> float:
    """Seconds until fewer than `rate.limit` of these runs are left in the window (they are over it)."""
    recent = runs.filter(received_at__gt=now - rate.period)
    over = max(1, recent.count() - rate.limit)
    # The window must lose `over` runs, oldest first; the last of them leaves at its time + the period.
    leaves = recent.order_by("received_at").values_list("received_at", flat=True)[over - 1]
    return max(1.0, math.ceil((leaves + rate.period - now).total_seconds()))


def _slow_down(why: str, wait: float) -> Reply:
    return Reply(f"Slow down: {why}. Try again in {wait:.0f} s.", final=True)
