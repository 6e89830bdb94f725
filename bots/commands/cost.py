from bots.grammar import SERVICE, Arg, InvalidCommand, optional
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, Service
from costs.messages import cost_reply
from costs.periods import PERIODS_HELP, PeriodError, parse_period
from costs.reports import summary

PERIOD = Arg("period", f"{PERIODS_HELP}; default yesterday (UTC days)", required=False, max_length=10)


@command(
    "cost",
    "What AWS cost: totals, change, top services, anomalies, budgets",
    PERIOD,
    optional(SERVICE),
    action=Action.VIEW,
    details="Reads the costs already ingested from Cost Explorer, so it answers at once.",
)
def cost(ctx: Context) -> Reply:
    text, service = ctx.args["period"], ctx.args["service"]
    try:
        period = parse_period(text)
    except PeriodError as exc:
        # `/cost web-app`: a service where the period goes means "yesterday, for that service".
        service = Service.objects.filter(name=(text or "").lower()).first() if service is None else None
        if service is None:
            raise InvalidCommand(str(exc)) from None
        rbac.require(ctx.user, Action.VIEW, service)
        period = parse_period("yesterday")
    return cost_reply(summary(period, service))
