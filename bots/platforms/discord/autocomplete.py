"""Suggestions while someone types a service, environment or version, from the catalog and recent deploys.

https://discord.com/developers/docs/interactions/receiving-and-responding#autocomplete
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from chatops_site.catalog.models import DeployTarget, Environment, Service
from chatops_site.deploys.models import Deployment

MAX_CHOICES = 25
# How many recent deployments to look through for versions worth suggesting.
RECENT = 200


def choices(options: list[dict]) -> list[dict]:
    """Discord's choice list for the option being typed, matching what was typed, best matches first."""
    focused = next((o for o in options if o.get("focused")), None)
    if focused is None or focused.get("name") not in SOURCES:
        return []
    typed = str(focused.get("value") or "").strip().lower()
    given = {o.get("name"): str(o.get("value") or "").strip().lower() for o in options if not o.get("focused")}
    names = list(dict.fromkeys(SOURCES[focused["name"]](given, typed)))
    names.sort(key=lambda n: not n.lower().startswith(typed))  # stable: keeps each source's own order
    return [{"name": n[:100], "value": n[:100]} for n in names[:MAX_CHOICES]]


def _services(given: dict, typed: str) -> Iterable[str]:
    return Service.objects.filter(name__icontains=typed).order_by("name").values_list("name", flat=True)


def _environments(given: dict, typed: str) -> Iterable[str]:
    environments = Environment.objects.filter(name__icontains=typed).order_by("order", "name")
    if given.get("service"):
        environments = environments.filter(targets__service__name=given["service"])
    return environments.values_list("name", flat=True)


def _versions(given: dict, typed: str) -> Iterable[str]:
    """Recently deployed versions first, then the targets' default refs."""
    deployments = Deployment.objects.filter(version__icontains=typed)
    targets = DeployTarget.objects.filter(default_version__icontains=typed)
    if given.get("service"):
        deployments = deployments.filter(target__service__name=given["service"])
        targets = targets.filter(service__name=given["service"])
    if given.get("environment"):
        deployments = deployments.filter(target__environment__name=given["environment"])
        targets = targets.filter(environment__name=given["environment"])
    recent = deployments.order_by("-requested_at", "-id").values_list("version", flat=True)[:RECENT]
    return [*recent, *targets.order_by("default_version").values_list("default_version", flat=True)]


SOURCES: dict[str, Callable[[dict, str], Iterable[str]]] = {
    "service": _services,
    "environment": _environments,
    "version": _versions,
}
