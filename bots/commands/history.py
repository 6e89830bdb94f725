from bots.deployment_messages import ICONS, watch_summary
from bots.grammar import ENVIRONMENT, SERVICE, optional
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action
from chatops_site.deploys.models import Deployment, Source, State
from chatops_site.durations import format_duration, format_moment
from costs.around import around

LIMIT = 10


@command(
    "history",
    "Show the latest deployments",
    optional(SERVICE),
    optional(ENVIRONMENT),
    reads=Action.VIEW,
)
def history(ctx: Context) -> Reply:
    deployments = Deployment.objects.select_related("target__service", "target__environment", "requested_by")
    deployments = rbac.restrict(deployments, ctx.user, Action.VIEW, "target__service", "target__environment")
    if ctx.args["service"]:
        deployments = deployments.filter(target__service=ctx.args["service"])
    if ctx.args["env"]:
        deployments = deployments.filter(target__environment=ctx.args["env"])
    lines = []
    for d in deployments.order_by("-requested_at", "-id")[:LIMIT]:
        took = f" in {format_duration(d.duration)}" if d.duration is not None else ""
        came = " (CI)" if d.source == Source.API else ""
        watched = f" · {watch_summary(d)}" if d.watch else ""
        lines.append(
            f"{ICONS[State(d.state)]} #{d.pk} {d.target.service.name} {d.version} -> {d.target.environment.name}"
            f"  {d.get_state_display()}{took}, by {d.requester}{came} {format_moment(d.requested_at)}"
            f"{watched}"
        )
        cost = around(d)
        if cost is not None:  # once the days after it are ingested
            lines.append(f"    💵 {d.target.service.name} cost {cost.text()}")
    if not lines:
        return Reply("No deployments yet.")
    return Reply("\n".join(lines))
