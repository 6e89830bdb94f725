"""Settings mistakes that should stop `manage.py check` (and so `migrate` and `make prod`) loudly."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from chatops_site.ops.production import unsafe_secret_key
from chatops_site.ratelimit import parse_rate


@register()
def rate_limits(app_configs, **kwargs):
    errors = []
    for name in ("CHATOPS_RATE_LIMIT", "CHATOPS_WORKSPACE_RATE_LIMIT"):
        try:
            parse_rate(getattr(settings, name))
        except ValueError as exc:
            errors.append(Error(f"{name}: {exc}", id="ops.E001"))
    return errors


# Only with --deploy: a development machine runs `check` with debug off and the development key.
@register(Tags.security, deploy=True)
def secret_key(app_configs, **kwargs):
    problem = unsafe_secret_key()
    return [Error(problem, id="ops.E002")] if problem else []
