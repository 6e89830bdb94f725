"""What each event says: the hook points of the deploy engine, the command engine and the cost digest.

Each function turns the caller's object into the plain data that `schema/v1.json` describes and emits it.
Only what a consumer needs goes out: names, versions, states, who and when. Never a secret, a chat token
or a reply handle (Slack response URLs and Discord interaction tokens let anyone post as the bot).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from chatops_site.deploys.models import Approval, Decision, State
from chatops_site.webhooks.models import EventKind
from chatops_site.webhooks.outbox import emit, heard

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from bots.models import CommandRun
    from chatops_site.deploys.models import Deployment
    from costs.anomalies import Anomaly


def deployment_recorded(deployment: Deployment, before: str, to: str, actor: User | None, message: str) -> None:
    """`deploy.<state>` when a deployment enters a state; `approval.*` too when that move was someone's decision.

    A note on the same state (the commit it was pinned to) is not a transition and sends nothing.
    """
    if before == to or not heard() & {EventKind.DEPLOY, EventKind.APPROVAL}:
        return
    data = _deployment(deployment, before, to, actor, message)
    emit(EventKind.DEPLOY, f"deploy.{to}", data)
    if actor is None or before != State.AWAITING_APPROVAL or to not in (State.QUEUED, State.REJECTED):
        return
    approval = Approval.objects.filter(deployment=deployment).first()
    if approval is None:  # the engine writes the decision before the move; without one, nobody decided
        return
    decision = "approved" if approval.decision == Decision.APPROVE else "rejected"
    emit(
        EventKind.APPROVAL,
        f"approval.{decision}",
        {**data, "decision": decision, "reason": approval.reason, "decided_at": _moment(approval.decided_at)},
    )


def _deployment(deployment: Deployment, before: str, to: str, actor: User | None, message: str) -> dict[str, Any]:
    target = deployment.target
    return {
        "deployment_id": deployment.pk,
        "kind": deployment.kind,
        "service": target.service.name,
        "environment": target.environment.name,
        "version": deployment.version,
        "commit_sha": deployment.commit_sha or None,
        "state": to,
        "from_state": before or None,
        "requested_by": deployment.requested_by.get_username(),
        "actor": actor.get_username() if actor is not None else None,
        "message": message,
        "provider": target.provider,
        "run_url": deployment.provider_run_url or None,
        "requested_at": _moment(deployment.requested_at),
        "started_at": _moment(deployment.started_at),
        "finished_at": _moment(deployment.finished_at),
    }


def command_finished(run: CommandRun) -> None:
    """`command.finished` for every command answered, whatever its outcome (ok, refused, invalid...)."""
    if EventKind.COMMAND not in heard():
        return
    emit(
        EventKind.COMMAND,
        "command.finished",
        {
            "run_id": run.pk,
            "command": run.command,
            "args": run.args,
            "user": run.user.get_username() if run.user is not None else None,
            "chat_user": run.chat_user_name or run.chat_user_id,
            "platform": run.platform,
            "outcome": run.outcome,
            "deployment_id": run.deployment_id,
            "received_at": _moment(run.received_at),
            "duration_ms": run.duration_ms,
        },
    )


def cost_anomaly(anomaly: Anomaly) -> None:
    """`cost.anomaly` for a service's day that cost far more than usual, with the deployments just before it."""
    emit(
        EventKind.COST_ANOMALY,
        "cost.anomaly",
        {
            "service": anomaly.service,
            "day": anomaly.day.isoformat(),
            "amount": float(anomaly.amount),
            "expected": float(anomaly.usual),
            "change": float(anomaly.change),
            "estimated": anomaly.estimated,
            "driver": anomaly.driver or None,
            "deployment_ids": [deployment.pk for deployment in anomaly.deployments],
        },
    )


def _moment(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
