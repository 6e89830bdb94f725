"""One FilterSet per list, shared by the dashboard pages and the REST API.

Parameters take names as people type them (`user=alice`, `service=web-app`, `environment=prod`) and
times as `YYYY-MM-DD` or ISO 8601 (`since=2024-05-01`, `until=2024-05-01T12:30:00Z`). A bare date in
`until` includes that whole day. Unknown names are refused with a message that says which name.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import django_filters as filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from bots.models import CommandRun, Outcome
from chatops_site.catalog.models import Environment, Platform, Service
from chatops_site.deploys.models import Deployment, State


class MomentField(forms.CharField):
    """A day (`2024-05-01`) or an ISO 8601 time; naive times are in the configured time zone."""

    widget = forms.TextInput(attrs={"placeholder": "YYYY-MM-DD or ISO time"})

    def to_python(self, value):
        value = (super().to_python(value) or "").strip()
        if not value:
            return None
        try:
            moment = parse_datetime(value.replace(" ", "T", 1)) if len(value) > 10 else parse_date(value)
        except ValueError:
            moment = None
        if moment is None:
            raise forms.ValidationError(f"'{value}' is not a date (YYYY-MM-DD) or an ISO 8601 time.")
        try:
            if not isinstance(moment, datetime):
                moment + timedelta(days=1)  # `until` takes the whole day, so its end must exist
                return moment
            # In UTC: databases refuse offsets beyond about 15 hours that ISO 8601 (and Python) allow.
            return (timezone.make_aware(moment) if timezone.is_naive(moment) else moment).astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError(f"'{value}' is outside the range of times this can search.") from None


class MomentFilter(filters.Filter):
    """`since` (from that moment on) or `until` (up to it; a bare day counts whole)."""

    field_class = MomentField

    def __init__(self, field_name: str | None = None, *, end: bool = False, **kwargs: Any) -> None:
        self.end = end
        kwargs.setdefault("label", "Until" if end else "Since")
        kwargs.setdefault(
            "help_text", "YYYY-MM-DD (that whole day) or ISO 8601 time" if end else "YYYY-MM-DD or ISO 8601 time"
        )
        super().__init__(field_name, lookup_expr="lt" if end else "gte", **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if isinstance(value, datetime):
            lookup = "lte" if self.end else "gte"
        else:
            lookup = self.lookup_expr
            value = timezone.make_aware(datetime.combine(value + timedelta(days=1 if self.end else 0), time.min))
        return qs.filter(**{f"{self.field_name}__{lookup}": value})


def _named(queryset, field: str, what: str, **kwargs) -> filters.ModelChoiceFilter:
    return filters.ModelChoiceFilter(
        queryset=queryset,
        to_field_name=field,
        empty_label="any",
        error_messages={"invalid_choice": f"There is no {what} named '%(value)s'."},
        **kwargs,
    )


def _users():
    return get_user_model().objects.order_by("username")


class CommandRunFilter(filters.FilterSet):
    """Command history: who typed what, where, about which service, and how it ended."""

    user = _named(_users(), "username", "user")
    platform = filters.ChoiceFilter(choices=Platform.choices, empty_label="any")
    command = filters.CharFilter(method="filter_command", help_text="e.g. deploy or /deploy")
    service = _named(Service.objects.all(), "name", "service", method="filter_service")
    environment = _named(Environment.objects.all(), "name", "environment", method="filter_environment")
    outcome = filters.ChoiceFilter(choices=Outcome.choices, empty_label="any")
    since = MomentFilter(field_name="received_at")
    until = MomentFilter(field_name="received_at", end=True)
    q = filters.CharFilter(
        method="search", label="Search", help_text="words in the typed text, the user's chat name or the answer"
    )

    class Meta:
        model = CommandRun
        fields = ["user", "platform", "command", "service", "environment", "outcome", "since", "until", "q"]

    def filter_command(self, queryset, name, value):
        return queryset.filter(command=value.strip().lstrip("/").lower())

    def filter_service(self, queryset, name, value):
        return queryset.filter(service=value.name)

    def filter_environment(self, queryset, name, value):
        return queryset.filter(environment=value.name)

    def search(self, queryset, name, value):
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(text__icontains=word)
                | Q(command__iexact=word.lstrip("/"))
                | Q(chat_user_name__icontains=word)
                | Q(reply__icontains=word)
            )
        return queryset


class DeploymentFilter(filters.FilterSet):
    """Deployments by service, environment, state, requester and time requested."""

    service = _named(Service.objects.all(), "name", "service", field_name="target__service")
    environment = _named(Environment.objects.all(), "name", "environment", field_name="target__environment")
    state = filters.ChoiceFilter(choices=State.choices, empty_label="any")
    requested_by = _named(_users(), "username", "user", label="Requested by")
    since = MomentFilter(field_name="requested_at")
    until = MomentFilter(field_name="requested_at", end=True)

    class Meta:
        model = Deployment
        fields = ["service", "environment", "state", "requested_by", "since", "until"]
