"""How the deploy engine hands work to django-q2: always after commit, never with long sleeps.

A task enqueued inside a transaction only runs once the rows it needs are committed. Waits of a few
seconds happen at the start of the next short task; longer ones become a one-off `Schedule` row, so
no worker sits on a deploy for minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django_q.models import Schedule

from chatops_site import queue

# Longer waits than this go through the scheduler (which looks every 30 s) instead of a sleeping task.
SHORT_WAIT = 5.0


def _path(name: str) -> str:
    return f"chatops_site.deploys.tasks.{name}"


def enqueue(name: str, *args, **kwargs) -> None:
    queue.enqueue(_path(name), *args, group=name, **kwargs)


def later(name: str, delay: float, *args) -> None:
    """Run a task after `delay` seconds."""
    if delay <= SHORT_WAIT:
        enqueue(name, *args, wait=max(delay, 0))
        return
    # The schedule is a row in our own database: written in the asking transaction, it exists exactly if
    # the work that asked for it does.
    Schedule.objects.create(
        func=_path(name),
        args=repr(tuple(args)),
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=timezone.now() + timedelta(seconds=delay),
    )


def check_later(deployment_id: int, due: datetime, delay: float) -> None:
    """Schedule the status check that `due` names; only the task holding that due time may run it."""
    later("check", delay, deployment_id, due.isoformat())
