"""The on-call schedule: a CSV file of shifts, and who holds one now and next.

One shift a row, under the header `team,name,start,end`; times are ISO 8601 in UTC (`2025-06-02 09:00`,
`2025-06-02T09:00Z`; an explicit offset is converted). A shift runs from its start up to, not including,
its end, so a hand-over at 09:00 has one person on call at 09:00, the next one. The file is read each
time it is asked about, so whatever writes it (a person, a cron job exporting from a rota tool) is seen
at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

COLUMNS = ("team", "name", "start", "end")


class ScheduleError(Exception):
    """The schedule cannot be read; the message names the line and what is wrong with it."""


@dataclass(frozen=True)
class Shift:
    team: str
    name: str
    start: datetime  # aware, UTC
    end: datetime


@dataclass(frozen=True)
class Rota:
    """One team at one moment: who is on call, and who comes next (those whose shifts start soonest)."""

    team: str
    now: list[Shift]
    next: list[Shift]


def read(path: str | Path) -> list[Shift]:
    """The shifts of the file at `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScheduleError(f"cannot read {Path(path).name}: {exc.__class__.__name__}") from None
    return parse(text)


def parse(text: str) -> list[Shift]:
    """The shifts a schedule's text lists, checked row by row."""
    rows = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(rows, [])]
    if tuple(header) != COLUMNS:
        raise ScheduleError(f"line 1: the header must be {','.join(COLUMNS)}")
    shifts = []
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines are allowed, to group shifts
        if len(row) != len(COLUMNS):
            raise ScheduleError(f"line {line}: {len(row)} fields, expected {len(COLUMNS)} ({','.join(COLUMNS)})")
        team, name, start, end = (cell.strip() for cell in row)
        if not team or not name:
            raise ScheduleError(f"line {line}: the team and the name must not be blank")
        shift = Shift(team.lower(), name, _moment(start, line, "start"), _moment(end, line, "end"))
        if shift.end <= shift.start:
            raise ScheduleError(f"line {line}: the shift ends before it starts")
        shifts.append(shift)
    return shifts


def _moment(value: str, line: int, column: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ScheduleError(f"line {line}: {column} '{value}' is not a time like 2025-06-02 09:00 (UTC)") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def rotas(shifts: Iterable[Shift], at: datetime) -> list[Rota]:
    """Each team of the schedule at the moment `at`, in name order."""
    by_team: dict[str, list[Shift]] = {}
    for shift in shifts:
        by_team.setdefault(shift.team, []).append(shift)
    found = []
    for team, held in sorted(by_team.items()):
        now = sorted((s for s in held if s.start <= at < s.end), key=lambda s: (s.end, s.name))
        later = [s for s in held if s.start > at]
        soonest = min((s.start for s in later), default=None)
        upcoming = sorted((s for s in later if s.start == soonest), key=lambda s: s.name)
        found.append(Rota(team, now, upcoming))
    return found
