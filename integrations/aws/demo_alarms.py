"""Alarms for the offline demo (CHATOPS_DEMO_ALARMS, which `make run` turns on): no AWS account needed.

Every alarm name exists and is OK until `manage.py demo_alarm <name> ALARM` says otherwise; states live in the
shared cache, so the web server, the workers and the command see the same ones. Never on in production: the
watch would read these instead of CloudWatch.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.cache import cache
from django.utils import timezone

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
# Before any deploy: an alarm nobody touched has been OK all along.
ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)


def _key(name: str) -> str:
    return f"chatops:demo-alarm:{name}"


def set_state(name: str, state: str, reason: str = "") -> None:
    """Move a demo alarm to OK, ALARM or INSUFFICIENT_DATA, now."""
    if state not in STATES:
        raise ValueError(f"{state!r} is not an alarm state (use one of: {', '.join(STATES)})")
    cache.set(_key(name), {"state": state, "since": timezone.now(), "reason": reason or "set by hand"}, None)


def states(names: list[str]) -> dict[str, tuple[str, datetime, str]]:
    """name -> (state, since, reason) of each demo alarm."""
    found = {}
    for name in names:
        stored = cache.get(_key(name)) or {"state": "OK", "since": ALWAYS, "reason": "a demo alarm"}
        found[name] = (stored["state"], stored["since"], stored["reason"])
    return found
