"""Who may do what: the one place that answers it, for chat, web, API and tasks alike."""

from __future__ import annotations

import functools
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Model, Q, QuerySet

from chatops_site import sql
from chatops_site.catalog.models import Environment, Grant, Service, action_label

# Whoever asks: a user, the anonymous visitor of a web page, or a chat account linked to nobody.
Someone = User | AnonymousUser | None


class Denied(Exception):
    """The user lacks the grant; the message is safe to show to that user."""


def _grants(user: User, action: str) -> QuerySet[Grant]:
    return Grant.objects.filter(Q(user=user) | Q(group__in=user.groups.all()), action=action)


def may(user: Someone, action: str, service: Service | None = None, environment: Environment | None = None) -> bool:
    """True when a grant covers the action on that service and environment.

    A blank service or environment on the grant means "all"; a blank argument here means "any":
    `may(carol, "view")` asks whether carol may view anything at all. Commands ask on every request, so
    the statement is written out once per shape (`_may_sql`) rather than built by the ORM each time.
    """
    if not isinstance(user, User) or not user.is_active:
        return False
    scope = [place.pk for place in (service, environment) if place is not None]
    with connection.cursor() as cursor:
        cursor.execute(_may_sql(service is not None, environment is not None), [action, user.pk, user.pk, *scope])
        return cursor.fetchone() is not None


@functools.cache
def _may_sql(for_service: bool, for_environment: bool) -> str:
    """A grant of the action to the user or to one of the user's groups, covering the service and environment."""
    grant = functools.partial(sql.column, Grant)
    member = get_user_model().groups.through
    groups = f"SELECT {sql.column(member, 'group')} FROM {sql.table(member)} WHERE {sql.column(member, 'user')} = %s"  # noqa: S608
    covers = [f"{grant('action')} = %s", f"({grant('user')} = %s OR {grant('group')} IN ({groups}))"]
    covers += [
        f"({grant(field)} IS NULL OR {grant(field)} = %s)"
        for field, asked in (("service", for_service), ("environment", for_environment))
        if asked
    ]
    return f"SELECT 1 FROM {sql.table(Grant)} WHERE {' AND '.join(covers)} LIMIT 1"  # noqa: S608  (see chatops_site/sql.py)


def require(user: Someone, action: str, service: Service | None = None, environment: Environment | None = None) -> None:
    """Raise `Denied` with a readable reason unless `may()` agrees."""
    reason = refusal(user, action, service, environment)
    if reason:
        raise Denied(reason)


def refusal(user: Someone, action: str, service: Service | None = None, environment: Environment | None = None) -> str:
    """Why `may()` says no, for the person asking; blank when it says yes."""
    if may(user, action, service, environment):
        return ""
    who = user.get_username() if isinstance(user, User) else "you"
    what = action_label(action)
    if service is not None and environment is not None:
        where = f" {service.name} in {environment.name}"
    elif service is not None:
        where = f" {service.name}"
    elif environment is not None:
        where = f" in {environment.name}"
    else:
        where = ""
    return f"{who} may not {what}{where}: ask an admin for the '{action}' grant."


def holders(action: str, service: Service, environment: Environment) -> QuerySet[User]:
    """Active users who hold `action` on that service and environment, directly or through a group."""
    covering = Grant.objects.filter(
        Q(service=None) | Q(service=service), Q(environment=None) | Q(environment=environment), action=action
    )
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(grant__in=covering) | Q(groups__grant__in=covering))
        .distinct()
        .order_by("username")
    )


M = TypeVar("M", bound=Model)


def restrict(
    queryset: QuerySet[M],
    user: Someone,
    action: str,
    service_field: str,
    environment_field: str,
    by_name: bool = False,
) -> QuerySet[M]:
    """Narrow `queryset` to rows whose service and environment the user holds `action` on.

    The fields are foreign keys, or with `by_name` text columns naming them (the command history keeps
    what was typed, so it survives a service being renamed or removed).
    """
    if not isinstance(user, User) or not user.is_active:
        return queryset.none()
    columns = ("service__name", "environment__name") if by_name else ("service_id", "environment_id")
    suffix = "" if by_name else "_id"
    condition = Q(pk__in=[])
    for service, environment in _grants(user, action).values_list(*columns):
        if service is None and environment is None:
            return queryset  # a grant on everything
        scope = Q()
        if service is not None:
            scope &= Q(**{f"{service_field}{suffix}": service})
        if environment is not None:
            scope &= Q(**{f"{environment_field}{suffix}": environment})
        condition |= scope
    return queryset.filter(condition)
