from django.utils import timezone

from bots.grammar import ENVIRONMENT, SERVICE, optional
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.catalog.models import Action
from chatops_site.deploys import freezes
from chatops_site.deploys.models import Freeze


@command(
    "freezes",
    "List the freeze windows: those in force, and the next window of each",
    optional(SERVICE),
    optional(ENVIRONMENT),
    reads=Action.VIEW,
)
def freezes_command(ctx: Context) -> Reply:
    service, environment = ctx.args["service"], ctx.args["env"]
    found = Freeze.objects.prefetch_related("environments", "services")
    if environment is not None:
        found = found.filter(environments=environment)
    if service is not None:
        found = found.filter(services=service) | found.filter(services=None)
    now = timezone.now()
    lines = []
    for freeze in found.distinct().order_by("name"):
        where = ", ".join(e.name for e in freeze.environments.all())
        services = ", ".join(s.name for s in freeze.services.all()) or "every service"
        through = "; rollbacks pass" if freeze.rollbacks else ""
        window = freezes.window_at(freeze, now)
        if window is not None:
            state = f"🧊 in force until {freezes.when(freeze, window[1])}"
        else:
            upcoming = freezes.next_window(freeze, now)
            state = f"next from {freezes.when(freeze, upcoming[0])}" if upcoming else "no window ahead"
        reason = f": {freeze.reason}" if freeze.reason else ""
        lines.append(f"{freeze.name} ({services} in {where}{through}){reason}\n    {state}")
    if not lines:
        return Reply("No freezes. Add them in the catalog file (freezes:), the admin or the REST API.")
    return Reply("\n".join(lines))
