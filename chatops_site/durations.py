"""Human durations such as `30m`, `1h30m`, `90s` or `2d`, as settings and catalog files write them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils import timezone

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """Parse `30m`, `1h30m`, `45s` or a bare number of seconds."""
    text = str(text).strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return timedelta(seconds=float(text))
    if not text or _PART.sub("", text):
        raise ValueError(f"{text!r} is not a duration (use e.g. 90s, 30m, 1h30m, 2d)")
    total = timedelta()
    for amount, unit in _PART.findall(text):
        total += timedelta(**{_UNITS[unit]: float(amount)})
    return total


def format_duration(delta: timedelta) -> str:
    """Short form for chat: `45s`, `3m 20s`, `2h 5m`."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s" if seconds else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if minutes else f"{hours}h"


def format_moment(moment: datetime) -> str:
    """`10:02` for today, `Nov 23 10:02` before, in the configured time zone."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return local.strftime("%b %d %H:%M")
