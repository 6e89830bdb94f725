"""/oncall [<team>]: who is on call now and next, from the schedule file `ONCALL_SCHEDULE`.

The product imports this module through the entry point `chatops.commands`; the `@command` below is the
whole of the plugin's contract. It needs the grant `oncall` (deny by default: an admin grants it, in the
admin or the catalog file, like any built-in action).
"""

from __future__ import annotations

import difflib
import logging
import os
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from bots.grammar import Arg, InvalidCommand
from bots.registry import Context, command
from bots.types import Reply
from chatops_oncall.schedule import Rota, ScheduleError, Shift, read, rotas

log = logging.getLogger("chatops.plugins.oncall")

ACTION = "oncall"
TEAM = Arg("team", "a team of the on-call schedule, e.g. payments", required=False, max_length=64)
NO_SCHEDULE = (
    "No on-call schedule is set: an admin sets ONCALL_SCHEDULE to a CSV file with the columns "
    "team,name,start,end (times in UTC)."
)


def schedule_path() -> str:
    """Where the schedule is: the Django setting, else the environment (and so the product's `.env` file)."""
    return getattr(settings, "ONCALL_SCHEDULE", "") or os.environ.get("ONCALL_SCHEDULE", "")


@command(
    "oncall",
    "Who is on call now and next, for every team or one",
    TEAM,
    reads=ACTION,
    details="Read from the on-call schedule each time it is asked; times are UTC.",
)
def oncall(ctx: Context) -> Reply:
    path = schedule_path()
    if not path:
        return Reply(NO_SCHEDULE)
    try:
        shifts = read(path)
    except ScheduleError as exc:
        log.warning("the on-call schedule %s cannot be read: %s", path, exc)
        return Reply(f"The on-call schedule cannot be read ({exc}); an admin has to fix it.")
    return Reply(answer(shifts, ctx.args["team"], timezone.now()))


def answer(shifts: list[Shift], team: str | None, at: datetime) -> str:
    """The reply's text: one line per team (or the one asked for) at the moment `at`."""
    every = rotas(shifts, at)
    found = [rota for rota in every if rota.team == team.lower()] if team else every
    if team and not found:
        raise InvalidCommand(_unknown(team, [rota.team for rota in every]))
    if not found:
        return "The on-call schedule lists nobody yet."
    return "\n".join([f"On call at {_when(at)} UTC:", *(f"  {_line(rota)}" for rota in found)])


def _line(rota: Rota) -> str:
    now = ", ".join(f"{s.name} until {_when(s.end)}" for s in rota.now) or "nobody now"
    if rota.next:
        later = f"next {' and '.join(s.name for s in rota.next)} from {_when(rota.next[0].start)}"
    else:
        later = "nothing scheduled next"
    return f"{rota.team}: {now}; {later}"


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%a %d %b %H:%M}"


def _unknown(team: str, teams: list[str]) -> str:
    close = difflib.get_close_matches(team.lower(), teams, n=1, cutoff=0.6)
    if close:
        return f"unknown team '{team}' - did you mean '{close[0]}'?"
    return f"unknown team '{team}' (known: {', '.join(teams) or 'none yet'})"
