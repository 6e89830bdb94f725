"""Small lookups shared by the deploy tests."""

from __future__ import annotations

from chatops_site.catalog.models import DeployTarget, Environment, Service
from chatops_site.deploys.models import Deployment


def place(service="web-app", env="staging") -> tuple[Service, Environment]:
    return Service.objects.get(name=service), Environment.objects.get(name=env)


def target_of(service="web-app", env="staging") -> DeployTarget:
    return DeployTarget.objects.get(service__name=service, environment__name=env)


def slow(service="web-app", env="staging", delay="1h") -> DeployTarget:
    """Make the simulated provider take `delay`, so a deployment stays running."""
    target = target_of(service, env)
    target.settings = {"delay": delay}
    target.save()
    return target


def path(deployment: Deployment) -> list[tuple[str, str]]:
    return list(deployment.events.order_by("id").values_list("from_state", "to_state"))


def fresh(*deployments: Deployment) -> list[str]:
    """Current states, read back from the database."""
    return [Deployment.objects.get(pk=d.pk).state for d in deployments]
