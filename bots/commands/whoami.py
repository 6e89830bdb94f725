from django.db.models import Q

from bots.registry import Context, command
from bots.types import Reply
from chatops_site.catalog.models import Grant


@command("whoami", "Show which ChatOps user you are and what you may do")
def whoami(ctx: Context) -> Reply:
    inv = ctx.invocation
    account = f"{inv.platform} {inv.workspace or '-'}/{inv.chat_user_id}"
    if ctx.user is None:
        return Reply(f"Your chat account ({account}) is not linked to a ChatOps user. Ask an admin to link it.")
    grants = (
        Grant.objects.filter(Q(user=ctx.user) | Q(group__in=ctx.user.groups.all()))
        .select_related("service", "environment", "group")
        .order_by("action", "service__name", "environment__order")
    )
    lines = [f"You are {ctx.user.get_username()} ({account})."]
    if not grants:
        lines.append("You hold no grants yet: you may use the commands open to everyone.")
    for grant in grants:
        via = f" (via group {grant.group.name})" if grant.group is not None else ""
        where = f"{grant.service or 'every service'} in {grant.environment or 'every environment'}"
        lines.append(f"  {grant.action}: {where}{via}")
    return Reply("\n".join(lines))
