from bots import deployment_messages
from bots.grammar import DEPLOYMENT, Arg
from bots.registry import Context, command
from bots.types import Reply
from chatops_site.deploys import engine


@command(
    "approve",
    "Approve a deployment that waits for approval",
    DEPLOYMENT,
    Arg("commit", "the commit you approve, as its card shows it", required=False, max_length=64),
    details="What is approved is the commit the deployment was pinned to; naming it (the buttons do) makes "
    "sure it is the one you looked at.",
)
def approve(ctx: Context) -> Reply:
    ctx.deployment = engine.approve(ctx.person, ctx.args["deployment"], ctx.args["commit"] or "")
    return deployment_messages.describe(ctx.deployment, f"approved by {ctx.person.get_username()}")


@command(
    "reject",
    "Reject a deployment that waits for approval",
    DEPLOYMENT,
    Arg("reason", "why, for the requester", kind="rest", required=False, max_length=500),
)
def reject(ctx: Context) -> Reply:
    ctx.deployment = engine.reject(ctx.person, ctx.args["deployment"], ctx.args["reason"] or "")
    decided = ctx.deployment.events.last()  # "rejected by bob: <reason>"
    return deployment_messages.describe(ctx.deployment, decided.message if decided else "")
