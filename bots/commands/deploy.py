from bots import deployment_messages
from bots.grammar import ENVIRONMENT, OPTION, SERVICE, Arg
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.deploys import engine
from chatops_site.deploys.models import Kind

VERSION = Arg("version", "branch, tag or SHA", required=False)
OVERRIDE = Arg(
    "override", "reason for passing a lock or a freeze (break-glass)", kind=OPTION, required=False, max_length=500
)


@command(
    "deploy",
    "Deploy a service to an environment",
    SERVICE,
    ENVIRONMENT,
    VERSION,
    OVERRIDE,
    details="Without a version, the target's default ref is deployed. "
    "Environments that require approval wait for a second person. "
    "--override <reason> passes a lock or a freeze (with the override grant; the channel hears it).",
)
def deploy(ctx: Context) -> Reply:
    return _request(ctx, Kind.DEPLOY)


@command(
    "rollback",
    "Roll a service back to its previous good version",
    SERVICE,
    ENVIRONMENT,
    VERSION,
    OVERRIDE,
    details="Without a version, the last successful version before the current one is deployed again; "
    "a version named must have succeeded here before (anything else is a /deploy).",
)
def rollback(ctx: Context) -> Reply:
    return _request(ctx, Kind.ROLLBACK)


def _request(ctx: Context, kind: str) -> Reply:
    deployment = engine.request_deploy(
        ctx.person, ctx.args["service"], ctx.args["env"], ctx.args["version"], kind, ctx.args["override"] or ""
    )
    ctx.deployment = deployment
    return deployment_messages.describe(deployment)
