from bots.grammar import ENVIRONMENT, SERVICE, Arg
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.deploys import engine


@command(
    "lock",
    "Freeze deploys of a service in an environment",
    SERVICE,
    ENVIRONMENT,
    Arg("reason", "why, shown to whoever tries to deploy", kind="rest", required=False, max_length=500),
)
def lock(ctx: Context) -> Reply:
    lock = engine.lock(ctx.person, ctx.args["service"], ctx.args["env"], ctx.args["reason"] or "")
    return Reply(
        f"🔒 {engine.describe_lock(lock)}. /unlock {lock.target.service.name} {lock.target.environment.name} lifts it.",
        public=True,
    )


@command("unlock", "Lift a freeze", SERVICE, ENVIRONMENT)
def unlock(ctx: Context) -> Reply:
    lock = engine.unlock(ctx.person, ctx.args["service"], ctx.args["env"])
    return Reply(f"🔓 {lock.target} unlocked by {ctx.person.get_username()}; queued deploys start now.", public=True)
