"""The overview: every service in every environment, what runs there, what waits, what is frozen.

Built in a fixed number of queries, however many services the catalog holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from chatops_site.catalog.models import DeployTarget, Environment, Service
from chatops_site.deploys import engine, freezes
from chatops_site.deploys.models import Deployment, Lock, State
from chatops_site.web import scopes


@dataclass
class Cell:
    """One service in one environment."""

    target: DeployTarget
    current: Deployment | None = None  # the last one that succeeded: what runs there now
    latest: Deployment | None = None  # the last one requested, whatever became of it
    lock: Lock | None = None
    frozen: str = ""  # "weekend until Mon 08:00 Europe/Berlin (07:00 UTC)" while a freeze holds it


@dataclass
class Row:
    service: Service
    # (environment, cell) for every environment; the cell is None where the service has no target.
    cells: list[tuple[Environment, Cell | None]] = field(default_factory=list)


@dataclass
class Pending:
    """A deployment waiting for approval, and why the viewer may not decide on it (blank: they may)."""

    deployment: Deployment
    refusal: str


def _latest() -> Subquery:
    """The id of the target's last requested deployment, whatever became of it."""
    return Subquery(Deployment.objects.filter(target=OuterRef("pk")).order_by("-requested_at", "-id").values("pk")[:1])


def board(user) -> tuple[list[Environment], list[Row]]:
    """The services the user may see in any environment, with the cells they may see."""
    targets = list(
        scopes.targets_for(user)
        .select_related("service", "environment")
        .annotate(current_id=engine.current_id(), latest_id=_latest())
    )
    wanted = {pk for t in targets for pk in (t.current_id, t.latest_id) if pk}
    deployments = Deployment.objects.select_related("requested_by").in_bulk(wanted)
    locks = engine.active_locks(targets)
    in_force = freezes.in_force()
    environments = list(Environment.objects.all())
    columns = {env.pk: i for i, env in enumerate(environments)}
    rows: dict[int, Row] = {}
    for target in targets:
        row = rows.setdefault(target.service_id, Row(target.service, [(env, None) for env in environments]))
        frozen = freezes.frozen_by(target, in_force)
        row.cells[columns[target.environment_id]] = (
            target.environment,
            Cell(
                target,
                deployments.get(target.current_id),
                deployments.get(target.latest_id),
                locks.get(target.pk),
                f"'{frozen[0].name}' until {freezes.when(frozen[0], frozen[1][1])}" if frozen else "",
            ),
        )
    return environments, sorted(rows.values(), key=lambda row: row.service.name)


def pending(user) -> list[Pending]:
    waiting = scopes.deployments_for(user).filter(state=State.AWAITING_APPROVAL)
    return [Pending(d, engine.why_not_decide(user, d)) for d in waiting.order_by("requested_at", "id")]
