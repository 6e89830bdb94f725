from bots import deployment_messages
from bots.grammar import ENVIRONMENT, SERVICE, Arg
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.deploys import engine
from chatops_site.deploys.models import Kind

VERSION = Arg("version", "branch, tag or SHA", required=False)


@command(
    "deploy",
    "Deploy a service to an environment",
    SERVICE,
    ENVIRONMENT,
    VERSION,
    details="Without a version, the target's default ref is deployed. "
    "Environments that require approval wait for a second person.",
)
def deploy(ctx: Context) -> Reply:
    return _request(ctx, Kind.DEPLOY)


@command(
    "rollback",
    "Roll a service back to its previous good version",
    SERVICE,
    ENVIRONMENT,
    VERSION,
    details="Without a version, the last successful version before the current one is deployed again; "
    "a version named must have succeeded here before (anything else is a /deploy).",
)
def rollback(ctx: Context) -> Reply:
    return _request(ctx, Kind.ROLLBACK)


def _request(ctx: Context, kind: str) -> Reply:
    deployment = engine.request_deploy(ctx.person, ctx.args["service"], ctx.args["env"], ctx.args["version"], kind)
    ctx.deployment = deployment
    return deployment_messages.describe(deployment)
