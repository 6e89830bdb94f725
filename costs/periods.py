"""The periods `/cost` and the API speak of, as UTC calendar days (Cost Explorer's days)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

MAX_DAYS = 400  # Cost Explorer keeps about 13 months of daily data
PERIODS_HELP = "today, yesterday, week, month or <N>d (e.g. 30d)"


class PeriodError(ValueError):
    """The text names no period; the message says what to type."""


@dataclass(frozen=True)
class Period:
    """Days `start` to `end`, both included."""

    name: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one, to compare against."""
        end = self.start - timedelta(days=1)
        return Period(f"before {self.name}", end - timedelta(days=self.days - 1), end)

    @property
    def dates(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def utc_today() -> date:
    return timezone.now().date()  # now() is in UTC when USE_TZ is on


def parse_period(text: str | None, today: date | None = None) -> Period:
    """`today` (so far), `yesterday`, `<N>d` (the N full days ending yesterday), `week` = `7d`, `month`.

    `month` runs from the 1st of this month to yesterday; on the 1st, when no full day of the month has
    passed yet, it is today so far.
    """
    today = today or utc_today()
    yesterday = today - timedelta(days=1)
    name = (text or "yesterday").strip().lower()
    if name == "today":
        return Period("today", today, today)
    if name == "yesterday":
        return Period("yesterday", yesterday, yesterday)
    if name == "week":
        name = "7d"
    if name == "month":
        first = today.replace(day=1)
        return Period("month", first, yesterday if yesterday >= first else today)
    match = re.fullmatch(r"(\d{1,4})d", name)
    if match:
        days = int(match[1])
        if not 1 <= days <= MAX_DAYS:
            raise PeriodError(f"'{text}': choose between 1d and {MAX_DAYS}d")
        return Period(name, yesterday - timedelta(days=days - 1), yesterday)
    raise PeriodError(f"'{text}' is not a period; use {PERIODS_HELP}")


def month_bounds(day: date) -> tuple[date, date]:
    """The first and the last day of `day`'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)
