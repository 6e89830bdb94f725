"""Settings mistakes that should stop `manage.py check` (and so `migrate` and `make prod`) loudly."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

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
