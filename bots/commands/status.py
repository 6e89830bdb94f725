from bots.grammar import ENVIRONMENT, SERVICE, optional
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys import engine
from chatops_site.deploys.models import ACTIVE_STATES, State
from chatops_site.durations import format_moment


@command("status", "Show what runs where, and what is in flight", optional(SERVICE), optional(ENVIRONMENT))
def status(ctx: Context) -> Reply:
    targets = DeployTarget.objects.select_related("service", "environment").order_by(
        "service__name", "environment__order"
    )
    if ctx.args["service"]:
        targets = targets.filter(service=ctx.args["service"])
    if ctx.args["env"]:
        targets = targets.filter(environment=ctx.args["env"])
    lines: list[str] = []
    service = None
    for target in targets:
        if target.service_id != service:
            service = target.service_id
            lines.append(target.service.name)
        lines.append(f"  {target.environment.name:<10} {_describe(target)}")
    if not lines:
        return Reply("No deploy targets match; an admin adds them under Catalog -> Services.")
    return Reply("\n".join(lines))


def _describe(target: DeployTarget) -> str:
    current = engine.current_deployment(target)
    if current is None:
        text = "nothing deployed yet"
    else:
        who = current.requested_by.get_username()
        text = f"{current.version}  (#{current.pk} by {who}, {format_moment(current.finished_at)})"
    in_flight = list(
        target.deployments.filter(state__in=(*ACTIVE_STATES, State.QUEUED, State.AWAITING_APPROVAL)).order_by("id")
    )
    if in_flight:
        text += "; " + ", ".join(f"#{d.pk} {d.version} {d.get_state_display()}" for d in in_flight)
    lock = engine.active_lock(target)
    if lock is not None:
        text += f"; 🔒 {lock.locked_by.get_username()}" + (f": {lock.reason}" if lock.reason else "")
    return text
