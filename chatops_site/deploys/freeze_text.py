"""A freeze's times as people write them in the catalog file and the API, and back.

A one-off window's start and end are wall times of the freeze's zone ("2026-12-20 00:00"), or ISO 8601
times with an offset ("2026-12-20T00:00+01:00"), which name an instant whatever the zone. A wall time the
zone skips (clocks jump forward) or has twice (clocks go back) is refused rather than guessed: a guess
moves a freeze by an hour. Written back, a time is the zone's wall time, with the offset only where that
wall time happens twice, so that it reads back as the same instant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.dateparse import parse_duration as parse_iso_duration

from chatops_site.durations import parse_duration

MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(?P<offset>Z|[+-]\d{2}:\d{2})?$")
EXAMPLE = '"2026-12-20 00:00"'


def zone_or_utc(zone_name: str | None) -> str:
    """The zone to read times in: the one given, or UTC while it is wrong (`freezes.problems` says so), so
    that the times are still checked for mistakes of their own."""
    try:
        ZoneInfo(zone_name or "")
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return zone_name or "UTC"


def moment(text: str, zone_name: str) -> datetime:
    """The instant `text` names, read in the zone unless it carries its offset; `ValueError` says why not."""
    text = text.strip()
    shape = MOMENT.match(text)
    try:
        written = datetime.fromisoformat(text) if shape else None
    except ValueError:  # the right shape, but a 30th of February or a 25th hour
        written = None
    if shape is None or written is None:
        raise ValueError(f"'{text}' is not a time: write {EXAMPLE} (in time_zone) or ISO 8601 with an offset")
    if shape["offset"]:
        return written.astimezone(UTC)
    zone = ZoneInfo(zone_name)
    first, second = written.replace(tzinfo=zone, fold=0), written.replace(tzinfo=zone, fold=1)
    before, after = _offset(first), _offset(second)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != written:
        raise ValueError(f"'{text}' does not exist in {zone_name}: clocks jump forward ({before} to {after})")
    if before != after:
        raise ValueError(
            f"'{text}' happens twice in {zone_name}: clocks go back ({before} to {after}); "
            f"add the offset meant, '{text}{before}' or '{text}{after}'"
        )
    return first.astimezone(UTC)


def wall_text(instant: datetime, zone_name: str) -> str:
    """`2026-12-20 00:00` in the zone (seconds only when there are any); `moment()` reads it back."""
    zone = ZoneInfo(zone_name)
    local = instant.astimezone(zone)
    text = f"{local:%Y-%m-%d %H:%M}"
    if local.second or local.microsecond:
        text += f":{local:%S}" + (f".{local:%f}" if local.microsecond else "")
    wall = local.replace(tzinfo=None)
    if _offset(wall.replace(tzinfo=zone, fold=0)) != _offset(wall.replace(tzinfo=zone, fold=1)):
        text += _offset(local)  # the hour that happens twice: say which time round
    return text


def span(text: object) -> timedelta:
    """How long a window lasts: `64h`, `1h30m`, `2d`, a number of seconds, or ISO 8601 (`P2DT16H`).

    Zero passes here: `freezes.problems` says what a schedule needs, in one place for every entry point.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError("a duration is text such as 64h, 1h30m or 2d")
    iso = parse_iso_duration(text) if isinstance(text, str) and text.strip().upper().startswith("P") else None
    length = iso if iso is not None else parse_duration(str(text))
    if length.microseconds:
        raise ValueError(f"'{text}' is not a whole number of seconds")
    return length


def span_text(length: timedelta) -> str:
    """`64h`, `2d`, `1h30m`: whole days as days, anything else in hours, as people say a freeze's length."""
    seconds = int(length.total_seconds())
    if seconds and not seconds % 86400:
        return f"{seconds // 86400}d"
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def _offset(moment: datetime) -> str:
    """`+01:00`: the moment's UTC offset as ISO 8601 writes it."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
