"""A production start refuses a secret key anyone can read.

The secret key signs sessions and CSRF tokens, signs the task packages the queue workers unpickle, and
is what the key for the stored Slack and GitHub tokens is derived from. Settings fall back to a public
development key so that a first look needs no setup; with `DJANGO_DEBUG` off, the processes that serve
or work for production refuse it: gunicorn (`gunicorn.conf.py`), `runserver` and `qcluster` (commands
here) and `check --deploy`, which `make prod` runs first.

Not the settings themselves: the test suite, the type checker and `make test`'s `manage.py check` load
them with debug off and no key too, and must go on doing so.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
# How Django marks a key that was made for development: our fallback, and every `startproject`'s.
DEVELOPMENT_MARK = "django-insecure-"


def unsafe_secret_key() -> str:
    """Why this process must not start with its settings; "" when it may."""
    if settings.DEBUG or not settings.SECRET_KEY.startswith(DEVELOPMENT_MARK):
        return ""
    return (
        "DJANGO_SECRET_KEY is not set (or is a development key) and DJANGO_DEBUG is off: sessions, queued "
        "tasks and stored tokens would be protected by a key anyone can read. Set DJANGO_SECRET_KEY to a "
        f"long random value, made for example with: {MAKE_ONE}"
    )


class ProductionCommand(BaseCommand):
    """A command that serves or works: it does not start with an unsafe secret key."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        if problem := unsafe_secret_key():
            raise CommandError(problem)
        return super().execute(*args, **options)
