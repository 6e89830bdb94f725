"""The one way work is handed to django-q2: a task runs only if, and once, the transaction that asked commits.

With the ORM broker the task row is written inside that transaction, so it appears together with the
rows it needs or not at all, at no extra commit. (Pushing it after the commit would cost a second write
and, as the broker closes connections outside transactions, a reconnect.) Redis is not part of the
transaction, so there the task is pushed after the commit; so is a task run in-process (`sync`).
"""

from __future__ import annotations

from django.db import transaction
from django_q.conf import Conf
from django_q.tasks import async_task


def enqueue(func: str, *args, **kwargs) -> None:
    """Queue `func` (a dotted path) with these arguments and django-q2 options (group, hook...)."""
    if Conf.ORM and not Conf.SYNC and not transaction.get_autocommit(using=Conf.ORM):
        async_task(func, *args, **kwargs)
    else:
        transaction.on_commit(lambda: async_task(func, *args, **kwargs), using=Conf.ORM or "default")
