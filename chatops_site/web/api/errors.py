"""Every API error is JSON with one readable `detail`; the domain's refusals keep their own words.

`rbac.Denied` is 403, `InvalidVersion` 400, `UnknownDeployment` 404 (also for one the caller may not see),
and `DeployError` 409 (the request is understood, but the deployment's or the target's state refuses it:
locked, already decided, not waiting...). A database that is not answering (down, restarting, the connection
cut) is 503, to try again, as chat commands say (`bots.command_engine`). Validation errors keep DRF's
per-field messages under `errors` and sum them up in `detail`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler

from chatops_site.catalog import rbac
from chatops_site.deploys.engine import DeployError, UnknownDeployment
from chatops_site.deploys.versions import InvalidVersion
from costs.periods import PeriodError
from costs.reports import UnknownService

log = logging.getLogger("chatops.api")


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Unavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The database is not answering right now; try again in a moment."
    default_code = "unavailable"


def _version_error(text: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({"version": [text]})


def _unavailable(text: str) -> Unavailable:
    """The database's own words name its host and port: they go to the log, not to the caller."""
    log.warning("API request not served: the database is not answering (%s)", text)
    return Unavailable()


DOMAIN_ERRORS: dict[type[Exception], Callable[[str], exceptions.APIException]] = {
    rbac.Denied: exceptions.PermissionDenied,
    UnknownDeployment: exceptions.NotFound,
    DeployError: Conflict,
    InvalidVersion: _version_error,
    PeriodError: exceptions.ValidationError,
    UnknownService: exceptions.ValidationError,
    OperationalError: _unavailable,
    InterfaceError: _unavailable,
}


def handle(exc, context):
    """DRF's exception handler, after translating the domain's exceptions and flattening validation errors."""
    for domain, api in DOMAIN_ERRORS.items():
        if isinstance(exc, domain):
            exc = api(str(exc))
            break
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": summary(response.data), "errors": response.data}
    return response


def summary(errors, field: str = "") -> str:
    """`{"service": ["There is no service named 'x'."]}` -> `service: There is no service named 'x'.`"""
    if isinstance(errors, dict):
        return " ".join(summary(value, name if name != "non_field_errors" else "") for name, value in errors.items())
    if isinstance(errors, list):
        return " ".join(summary(value, field) for value in errors)
    return f"{field}: {errors}" if field else str(errors)


class ErrorSerializer(serializers.Serializer):
    """What every error answers with (documentation only)."""

    detail = serializers.CharField()
    # DRF's metaclass takes declared fields off the class: `errors` stays the serializer's own property.
    errors = serializers.DictField(required=False, help_text="Validation errors by field name.")  # type: ignore[assignment]
