"""Suggestions while someone types a service, environment or version, from the catalog and recent deploys.

Suggestions are reads: only a linked user gets them, only of the targets they may view, and only so many
a minute (Discord asks at every pause in typing), so nobody can page through the catalog's history.
https://discord.com/developers/docs/interactions/receiving-and-responding#autocomplete
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import QuerySet

from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, DeployTarget, Environment, Service
from chatops_site.deploys.models import Deployment

MAX_CHOICES = 25
# How many recent deployments to look through for versions worth suggesting.
RECENT = 200
# Lookups per user and minute; typing a long name is a handful.
PER_MINUTE = 60


def choices(options: list[dict], user: User | None) -> list[dict]:
    """Discord's choice list for the option being typed, matching what was typed, best matches first."""
    focused = next((o for o in options if o.get("focused")), None)
    if user is None or focused is None or focused.get("name") not in SOURCES or not _within_rate(user):
        return []
    typed = str(focused.get("value") or "").strip().lower()
    given = {o.get("name"): str(o.get("value") or "").strip().lower() for o in options if not o.get("focused")}
    visible = rbac.restrict(DeployTarget.objects.all(), user, Action.VIEW, "service", "environment")
    names = list(dict.fromkeys(SOURCES[focused["name"]](visible, given, typed)))
    names.sort(key=lambda n: not n.lower().startswith(typed))  # stable: keeps each source's own order
    return [{"name": n[:100], "value": n[:100]} for n in names[:MAX_CHOICES]]


def _within_rate(user: User) -> bool:
    """Count this lookup in the user's minute (shared by every worker through the cache)."""
    key = f"chatops:autocomplete:{user.pk}"
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key) <= PER_MINUTE
    except ValueError:  # the minute ended between add and incr: this lookup opens the next one
        cache.set(key, 1, timeout=60)
        return True


def _services(visible: QuerySet[DeployTarget], given: dict, typed: str) -> Iterable[str]:
    services = Service.objects.filter(name__icontains=typed, targets__in=visible).distinct()
    return services.order_by("name").values_list("name", flat=True)


def _environments(visible: QuerySet[DeployTarget], given: dict, typed: str) -> Iterable[str]:
    if given.get("service"):
        visible = visible.filter(service__name=given["service"])
    environments = Environment.objects.filter(name__icontains=typed, targets__in=visible)
    return environments.distinct().order_by("order", "name").values_list("name", flat=True)


def _versions(visible: QuerySet[DeployTarget], given: dict, typed: str) -> Iterable[str]:
    """Recently deployed versions first, then the targets' default refs."""
    deployments = Deployment.objects.filter(version__icontains=typed, target__in=visible)
    targets = visible.filter(default_version__icontains=typed)
    if given.get("service"):
        deployments = deployments.filter(target__service__name=given["service"])
        targets = targets.filter(service__name=given["service"])
    if given.get("environment"):
        deployments = deployments.filter(target__environment__name=given["environment"])
        targets = targets.filter(environment__name=given["environment"])
    recent = deployments.order_by("-requested_at", "-id").values_list("version", flat=True)[:RECENT]
    return [*recent, *targets.order_by("default_version").values_list("default_version", flat=True)]


SOURCES: dict[str, Callable[[QuerySet[DeployTarget], dict, str], Iterable[str]]] = {
    "service": _services,
    "environment": _environments,
    "version": _versions,
}
