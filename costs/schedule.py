"""When the morning run happens: COST_DIGEST_TIME in COST_DIGEST_TIME_ZONE, every day, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

SCHEDULE_NAME = "costs-morning"


def digest_zone() -> ZoneInfo:
    try:
        return ZoneInfo(settings.COST_DIGEST_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"COST_DIGEST_TIME_ZONE={settings.COST_DIGEST_TIME_ZONE!r} is not a time zone (e.g. Europe/Paris)"
        ) from None


def digest_time() -> time:
    try:
        return time.fromisoformat(settings.COST_DIGEST_TIME)
    except ValueError:
        raise ImproperlyConfigured(
            f"COST_DIGEST_TIME={settings.COST_DIGEST_TIME!r} is not a time of day as HH:MM (e.g. 09:00)"
        ) from None


def local_today(now: datetime | None = None) -> date:
    """Today in COST_DIGEST_TIME_ZONE: the day a digest belongs to."""
    return (now or timezone.now()).astimezone(digest_zone()).date()


def next_run(now: datetime | None = None) -> datetime:
    """The first COST_DIGEST_TIME in COST_DIGEST_TIME_ZONE after `now`, in UTC."""
    now = now or timezone.now()
    zone, at = digest_zone(), digest_time()
    day = now.astimezone(zone).date()
    while True:
        moment = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if moment > now:
            return moment
        day += timedelta(days=1)
