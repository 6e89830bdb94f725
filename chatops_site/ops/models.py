"""Rate-limit windows, in the database so that every web worker on every machine counts together."""

from __future__ import annotations

from django.db import models


class RateWindow(models.Model):
    """How many commands one chat user (or one workspace) sent since the window opened.

    One row per key, reused: a window opens at the first command after the previous one ran out.
    """

    key = models.CharField(max_length=300, unique=True, help_text='"user:slack:T1:U2" or "workspace:slack:T1"')
    started_at = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.hits} since {self.started_at:%H:%M:%S}"
