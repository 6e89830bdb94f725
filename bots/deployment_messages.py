"""How deployments are described in chat, in one place for command answers and notifications."""

from __future__ import annotations

from django.db.models import Q

from bots.types import Button, Reply
from chatops_site.deploys import engine
from chatops_site.deploys.models import ACTIVE_STATES, Approval, Deployment, DeploymentEvent, State
from chatops_site.durations import format_duration, format_moment

ICONS = {
    State.AWAITING_APPROVAL: "⏸",
    State.QUEUED: "⏳",
    State.DISPATCHING: "🚀",
    State.RUNNING: "🔄",
    State.SUCCEEDED: "✅",
    State.FAILED: "❌",
    State.REJECTED: "🚫",
    State.EXPIRED: "⌛",
    State.CANCELLED: "🚫",
    State.TIMED_OUT: "⌛",
}


def headline(deployment: Deployment) -> str:
    target = deployment.target
    verb = "Rollback" if deployment.kind == "rollback" else "Deploy"
    return f"{verb} #{deployment.pk} of {target.service.name} {deployment.version} to {target.environment.name}"


def approvers(deployment: Deployment) -> list[str]:
    return [user.get_username() for user in engine.deciders(deployment)]


# A queue longer than this is summed up: "waiting behind #4, #5, #6 and 12 more".
BLOCKERS_SHOWN = 3


def _blocker(deployment: Deployment) -> str:
    """Which deployments of the same target go first."""
    earlier = Q(queued_at__lt=deployment.queued_at) | Q(queued_at=deployment.queued_at, pk__lt=deployment.pk)
    ahead = (
        Deployment.objects.filter(target_id=deployment.target_id)
        .filter(Q(state__in=ACTIVE_STATES) | (Q(state=State.QUEUED) & earlier))
        .order_by("queued_at", "id")
        .values_list("pk", flat=True)
    )
    shown = list(ahead[: BLOCKERS_SHOWN + 1])
    if not shown:
        return ""
    text = "; waiting behind " + ", ".join(f"#{pk}" for pk in shown[:BLOCKERS_SHOWN])
    if len(shown) > BLOCKERS_SHOWN:
        text += f" and {ahead.count() - BLOCKERS_SHOWN} more"
    return text


def _decision(deployment: Deployment) -> list[tuple[str, str]]:
    """Who approved or rejected it, and when: kept on the message through every later update."""
    if deployment.queued_at is not None and deployment.queued_at == deployment.requested_at:
        return []  # queued the moment it was asked for: it never waited for a decision
    approval = Approval.objects.filter(deployment=deployment).select_related("approver").first()
    if approval is None:
        return []
    label = f"{approval.get_decision_display()} by".capitalize()
    return [(label, f"{approval.approver.get_username()} at {format_moment(approval.decided_at)}")]


def describe(deployment: Deployment, message: str = "") -> Reply:
    """The state of a deployment, as one message."""
    state = State(deployment.state)
    text = f"{ICONS[state]} {headline(deployment)}"
    fields = [("Requested by", deployment.requested_by.get_username())]
    buttons: list[Button] = []
    if state == State.AWAITING_APPROVAL:
        names = approvers(deployment)
        text += " is waiting for approval"
        fields.append(("Can approve", ", ".join(names) if names else "nobody yet: grant 'approve' in the admin"))
        buttons = [
            Button("Approve", "approve", str(deployment.pk)),
            Button("Reject", "reject", str(deployment.pk), style="danger"),
        ]
    elif state == State.QUEUED:
        text += " is queued" + _blocker(deployment)
    elif state in ACTIVE_STATES:
        text += f" is {state.label}"
    elif state == State.SUCCEEDED:
        text += " succeeded"
    else:
        text += f" {state.label}"
    if message:
        text += f": {message}"
    if state != State.AWAITING_APPROVAL:
        fields += _decision(deployment)
    if deployment.rollback_of is not None:
        fields.append(("Rolls back", f"#{deployment.rollback_of_id} ({deployment.rollback_of.version})"))
    if deployment.duration is not None:
        fields.append(("Duration", format_duration(deployment.duration)))
    if deployment.artifact:
        fields.append(("Artifact", deployment.artifact))
    links = [("Run", deployment.provider_run_url)] if deployment.provider_run_url else []
    # Providers that know the commit they deployed (GitHub Actions) keep it in provider_data.
    if deployment.provider_data.get("head_sha"):
        fields.append(("Commit", deployment.provider_data["head_sha"][:12]))
    if deployment.provider_data.get("commit_url"):
        links.append(("Commit", deployment.provider_data["commit_url"]))
    return Reply(
        text,
        fields=fields,
        buttons=buttons,
        links=links,
        public=True,
        final=deployment.is_final,
        key=f"deployment:{deployment.pk}",
    )


def transition(event: DeploymentEvent) -> Reply:
    """A notification for one transition; says who moved it when a person did."""
    deployment = event.deployment
    message = event.message if event.to_state in (State.FAILED, State.TIMED_OUT, State.REJECTED) else ""
    reply = describe(deployment, message)
    if event.to_state != deployment.state:  # the deployment moved on; describe the event, not now
        reply.text = f"{ICONS[State(event.to_state)]} {headline(deployment)}: {State(event.to_state).label}"
        reply.buttons = []
        reply.final = False
    elif event.actor_id and event.to_state in (State.QUEUED, State.CANCELLED):
        reply.text += f" ({event.message})"
    return reply
