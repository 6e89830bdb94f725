"""The one way work is handed to django-q2: a task runs only if, and once, the transaction that asked commits.

With the ORM broker the task row is written inside that transaction, so it appears together with the
rows it needs or not at all, at no extra commit. (Pushing it after the commit would cost a second write
and, as the broker closes connections outside transactions, a reconnect.) Redis is not part of the
transaction, so there the task is pushed after the commit; so is a task run in-process (`sync`).

Each task carries the request id and the trace context of the code that asked for it (logs.py takes
them out of its arguments as it is queued, and puts them into the package). Work for later is a one-off
`Schedule` row, written in the asking transaction too, that carries them the same way to the task the
scheduler makes of it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task

from chatops_site import logs


def enqueue(func: str, *args, **kwargs) -> None:
    """Queue `func` (a dotted path) with these arguments and django-q2 options (group, hook...).

    What the task carries (request id, trace context) is taken now, from the code that asks for it:
    a commit may push it later, outside the span that asked.
    """
    if carried := logs.carried():
        kwargs[logs.CARRIED_KWARG] = carried
    if Conf.ORM and not Conf.SYNC and not transaction.get_autocommit(using=Conf.ORM):
        async_task(func, *args, **kwargs)
    else:
        transaction.on_commit(lambda: async_task(func, *args, **kwargs), using=Conf.ORM or "default")


def later(func: str, args: tuple, when: datetime) -> None:
    """Queue `func` with these arguments at `when` (the scheduler looks every 30 s), if this transaction commits."""
    carried = logs.carried()
    Schedule.objects.create(
        func=func,
        args=repr(args),
        kwargs=repr({logs.CARRIED_KWARG: carried}) if carried else None,
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=when,
    )
