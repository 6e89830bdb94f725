import re
from datetime import timedelta

from django.utils import timezone

from bots.grammar import ENVIRONMENT, SERVICE, Arg, InvalidCommand
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.deploys import engine
from chatops_site.durations import parse_duration

# A first word such as 90m, 2h, 1d or 1h30m is how long the lock lasts, not the start of its reason.
DURATION = re.compile(r"(?:\d+[smhd])+")
LONGEST = 30  # days


@command(
    "lock",
    "Freeze deploys of a service in an environment",
    SERVICE,
    ENVIRONMENT,
    Arg("reason", "[duration] and why, e.g. 2h db migration", kind="rest", required=False, max_length=500),
    details="A first word such as 90m, 2h or 1d ends the lock by itself after that long (the channel hears it).",
)
def lock(ctx: Context) -> Reply:
    first, _, rest = (ctx.args["reason"] or "").partition(" ")
    until = None
    reason = ctx.args["reason"] or ""
    if DURATION.fullmatch(first.lower()):
        length = parse_duration(first)
        if length <= timedelta(0):
            raise InvalidCommand(f"'{first}' is no time at all; leave the duration out for a lock until /unlock")
        if length > timedelta(days=LONGEST):
            raise InvalidCommand(f"a lock lasts at most {LONGEST} days; leave the duration out for one until /unlock")
        until, reason = timezone.now() + length, rest.strip()
    lock = engine.lock(ctx.person, ctx.args["service"], ctx.args["env"], reason, until)
    return Reply(
        f"🔒 {engine.describe_lock(lock)}. /unlock {lock.target.service.name} {lock.target.environment.name} lifts it.",
        public=True,
    )


@command("unlock", "Lift a freeze", SERVICE, ENVIRONMENT)
def unlock(ctx: Context) -> Reply:
    lock = engine.unlock(ctx.person, ctx.args["service"], ctx.args["env"])
    return Reply(f"🔓 {lock.target} unlocked by {ctx.person.get_username()}; queued deploys start now.", public=True)
