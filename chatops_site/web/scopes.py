"""What each user may read on the dashboard (and through the API): the lists narrowed by RBAC.

Everyone sees their own commands and deployments (and the targets they went to); the rest needs the
`view` grant on that service and environment.
"""

from __future__ import annotations

from django.db.models import QuerySet

from bots.models import CommandRun
from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, DeployTarget
from chatops_site.deploys.models import Deployment


def commands_for(user) -> QuerySet[CommandRun]:
    runs = CommandRun.objects.select_related("user")
    return rbac.restrict(runs, user, Action.VIEW, "service", "environment", by_name=True) | runs.filter(user=user)


def deployments_for(user) -> QuerySet[Deployment]:
    deployments = Deployment.objects.select_related("target__service", "target__environment", "requested_by")
    visible = rbac.restrict(deployments, user, Action.VIEW, "target__service", "target__environment")
    return visible | deployments.filter(requested_by=user)


def targets_for(user) -> QuerySet[DeployTarget]:
    """The targets whose state (what runs there, locks) the user may read."""
    targets = DeployTarget.objects.all()
    own = Deployment.objects.filter(requested_by=user).values("target_id")
    return rbac.restrict(targets, user, Action.VIEW, "service", "environment") | targets.filter(pk__in=own)
