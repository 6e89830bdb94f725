from bots.grammar import SERVICE, Arg, InvalidCommand, optional
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.catalog.models import Action, Service
from costs.periods import PERIODS_HELP, PeriodError, parse_period
from costs.replies import cost_reply
from costs.reports import summary

PERIOD = Arg("period", f"{PERIODS_HELP}; default yesterday (UTC days)", required=False, max_length=10)


def period_or_service(args: dict) -> dict:
    """`/cost web-app`: a service where the period goes means "yesterday, for that service"."""
    text, service = args["period"], args["service"]
    try:
        return {**args, "period": parse_period(text)}
    except PeriodError as exc:
        named = Service.objects.filter(name=(text or "").lower()).first() if service is None else None
        if named is None:
            raise InvalidCommand(str(exc)) from None
        return {**args, "period": parse_period("yesterday"), "service": named}


@command(
    "cost",
    "What AWS cost: totals, change, top services, anomalies, budgets",
    PERIOD,
    optional(SERVICE),
    reads=Action.VIEW,
    refine=period_or_service,
    details="Reads the costs already ingested from Cost Explorer, so it answers at once.",
)
def cost(ctx: Context) -> Reply:
    return cost_reply(summary(ctx.args["period"], ctx.args["service"]))
