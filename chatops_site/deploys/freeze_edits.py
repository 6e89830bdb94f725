"""Making, changing and removing freezes for the catalog file and the REST API.

A freeze in force holds the queue of every target it covers. Making one wakes nothing: what is queued
keeps waiting. Changing or removing one may lift the window, so the targets it held are woken and start
what they queued, unless something else still holds them (`engine.start_next` looks again).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, DeployTarget, Environment, Service
from chatops_site.deploys import engine, freezes
from chatops_site.deploys.models import Freeze

# Where a freeze applies, beside its own fields.
PLACES = ("environments", "services")


def require_lock(user: User, environments: Iterable[Environment], services: Iterable[Service] = ()) -> None:
    """A freeze is a scheduled lock: making or removing one needs `lock` on every service it covers in each
    of its environments (no services named: every service with a target there). `rbac.Denied` says which."""
    named = list(services)
    for environment in environments:
        covering = named or list(Service.objects.filter(targets__environment=environment).order_by("name"))
        for service in covering:
            rbac.require(user, Action.LOCK, service, environment)
        if not covering:  # an environment without targets yet: a lock grant there at all
            rbac.require(user, Action.LOCK, None, environment)


def covered(freeze: Freeze) -> list[DeployTarget]:
    """The targets the freeze applies to: its environments, and its services (blank: every service)."""
    targets = DeployTarget.objects.filter(environment__in=freeze.environments.all())
    if freeze.services.exists():
        targets = targets.filter(service__in=freeze.services.all())
    return list(targets.select_related("service", "environment").order_by("service__name", "environment__order"))


def held(freeze: Freeze, moment: datetime | None = None) -> list[int]:
    """Ids of the targets the freeze holds at `moment` (default now); none when no window is in force."""
    if freeze.pk is None or freezes.window_at(freeze, moment or timezone.now()) is None:
        return []
    return [target.pk for target in covered(freeze)]


@transaction.atomic
def create(fields: dict, environments: Iterable[Environment], services: Iterable[Service] = ()) -> Freeze:
    freeze = Freeze.objects.create(**fields)
    freeze.environments.set(environments)
    freeze.services.set(services)
    return freeze


@transaction.atomic
def update(
    freeze: Freeze, fields: dict, environments: Iterable[Environment], services: Iterable[Service] = ()
) -> Freeze:
    """Change the freeze; the targets it held before are woken."""
    before = held(Freeze.objects.get(pk=freeze.pk))
    for name, value in fields.items():
        setattr(freeze, name, value)
    freeze.save(update_fields=list(fields))
    freeze.environments.set(environments)
    freeze.services.set(services)
    _wake(before)
    return freeze


@transaction.atomic
def delete(freeze: Freeze) -> list[int]:
    """Remove the freeze and wake the targets it held; their ids."""
    before = held(freeze)
    freeze.delete()
    _wake(before)
    return before


def _wake(target_ids: list[int]) -> None:
    for target_id in target_ids:
        engine.wake(target_id)  # runs once the transaction commits
