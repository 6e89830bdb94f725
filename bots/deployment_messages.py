"""How deployments are described in chat, in one place for command answers and notifications."""

from __future__ import annotations

import math

from django.db.models import Q
from django.utils import timezone

from bots.types import Button, Reply
from chatops_site.deploys import engine, watch
from chatops_site.deploys.models import ACTIVE_STATES, Approval, Deployment, DeploymentEvent, Source, State, Watch
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
    version = deployment.version
    if deployment.commit_sha and not deployment.commit_sha.startswith(version.lower()):
        version += f" ({deployment.short_sha})"
    return f"{verb} #{deployment.pk} of {target.service.name} {version} to {target.environment.name}"


CI_MARKS = {"passing": "✅", "failing": "❌", "pending": "⏳", "none": "➖", "unknown": "❔"}


def ci_state(deployment: Deployment) -> str:
    """The pinned commit's CI, with counts: "❌ failing (2 failing, 5 passing)"."""
    checks = deployment.changes.get("checks") or {}
    state = str(checks.get("state") or "")
    if not state:
        return ""
    if checks.get("error"):
        return f"{CI_MARKS['unknown']} unknown: {checks['error']}"
    if state == "none":
        return f"{CI_MARKS['none']} nothing reports on {deployment.short_sha}"
    counts = ", ".join(f"{checks[k]} {k}" for k in ("failing", "pending", "passing") if checks.get(k))
    return f"{CI_MARKS.get(state, '')} {state}" + (f" ({counts})" if counts else "")


def commits_to_ship(deployment: Deployment) -> tuple[str, list[str]]:
    """How many commits ship since what runs on the target, and one line for each of the newest."""
    changes = deployment.changes
    if changes.get("error"):
        return f"commits unknown: {changes['error']}", []
    if changes.get("first"):
        return "nothing known runs here yet, so there is nothing to compare with", []
    if "total" not in changes:
        return "", []
    total, since = int(changes["total"]), deployment.base_sha[:7]
    noun = "commit" if total == 1 else "commits"
    summary = f"undoes the {total} {noun} after {deployment.short_sha}" if changes.get("undoes") else ""
    summary = summary or (f"{total} new {noun} since {since}" if total else f"no new commits since {since}")
    lines = []
    for commit in changes.get("commits") or []:
        pr = f" (#{commit['pr']})" if commit.get("pr") and f"#{commit['pr']}" not in commit["title"] else ""
        lines.append(f"{commit['sha'][:7]} {commit['title']}{pr} — {commit['author']}")
    if total > len(lines) and lines:
        lines.append(f"… and {total - len(lines)} more")
    return summary, lines


def _pin_fields(deployment: Deployment) -> list[tuple[str, str]]:
    if deployment.pinning:
        repository = deployment.target.service.repository
        return [("Commit", f"looking up {deployment.version} in {repository}…")]
    if not deployment.commit_sha:
        return []
    fields = [("Commit", deployment.commit_sha[:12])]
    summary, lines = commits_to_ship(deployment)
    if summary:
        fields.append(("Changes", summary))
    if lines:
        fields.append(("Commits", "\n".join(lines)))
    if ci_state(deployment):
        fields.append(("CI", ci_state(deployment)))
    if engine.moved_on(deployment):
        fields.append(("Note", engine.moved_on(deployment)))
    return fields


def _approve_button(deployment: Deployment) -> Button:
    """Approve exactly the pinned commit: the button names it, and asks before it approves."""
    target = deployment.target
    if not deployment.commit_sha:
        question = f"Approve {target.service.name} {deployment.version} to {target.environment.name}?"
        return Button("Approve", "approve", str(deployment.pk), confirm=question)
    summary, _ = commits_to_ship(deployment)
    ci = ci_state(deployment)
    question = (
        f"Approve {target.service.name} {deployment.short_sha} ({deployment.version}) to {target.environment.name}?"
    )
    question += "".join(f"\n{part}" for part in (summary, f"CI: {ci}" if ci else "") if part)
    return Button("Approve", "approve", f"{deployment.pk} {deployment.short_sha}", confirm=question)


def approvers(deployment: Deployment) -> list[str]:
    return [user.get_username() for user in engine.deciders(deployment)]


# A queue longer than this is summed up: "waiting behind #4, #5, #6 and 12 more".
BLOCKERS_SHOWN = 3


def _blocker(deployment: Deployment) -> str:
    """Which deployments of the same target go first."""
    earlier = Q(queued_at__lt=deployment.queued_at) | Q(queued_at=deployment.queued_at, pk__lt=deployment.pk)
    ahead = (
        Deployment.objects.filter(target_id=deployment.target_id)
        # An approved gate request is not in the queue: its pipeline starts it by asking again.
        .filter(Q(state__in=ACTIVE_STATES) | (Q(state=State.QUEUED) & earlier & ~Q(source=Source.API)))
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


WATCH_MARKS = {
    Watch.WATCHING: "👀",
    Watch.HEALTHY: "💚",
    Watch.UNHEALTHY: "⚠️",
    Watch.UNVERIFIED: "❔",
    Watch.ENDED: "⏹",
}


def watch_summary(deployment: Deployment) -> str:
    """Where the watch after the deploy stands, in a few words: "watching, 12 min left", "healthy after 15 min",
    "unhealthy: web-5xx in ALARM since 14:02 (4 min after the deploy)"; blank when it is not watched."""
    state = Watch(deployment.watch)
    findings = deployment.watch_findings
    minutes = findings.get("minutes", 0)
    if state == Watch.WATCHING and deployment.watch_until is not None:
        left = max(1, math.ceil((deployment.watch_until - timezone.now()).total_seconds() / 60))
        return f"{WATCH_MARKS[state]} watching, {left} min left"
    if state == Watch.HEALTHY:
        return f"{WATCH_MARKS[state]} healthy after {minutes} min"
    if state == Watch.UNHEALTHY and findings.get("breaches") and deployment.finished_at is not None:
        first = watch.finding(findings["breaches"][0])
        return f"{WATCH_MARKS[state]} unhealthy: {watch.describe(first, deployment.finished_at)}"
    if state == Watch.UNVERIFIED:
        return f"{WATCH_MARKS[state]} not verified after {minutes} min"
    if state == Watch.ENDED:
        return f"{WATCH_MARKS[state]} watch ended"
    return ""


def _watch_fields(deployment: Deployment) -> list[tuple[str, str]]:
    findings = deployment.watch_findings
    fields = []
    if deployment.watch == Watch.WATCHING and deployment.watch_until is not None:
        watched = ", ".join([*findings.get("alarms", []), "CPU/memory critical"])
        fields.append(("Watching", f"{watched} until {format_moment(deployment.watch_until)}"))
    before = [watch.finding(f) for f in findings.get("before", [])]
    if before:
        value = "; ".join(f"{f.what} {f.detail} since {format_moment(f.since)}" for f in before)
        fields.append(("Already firing before the deploy (not counted)", value))
    if findings.get("problems") and deployment.watch in (Watch.WATCHING, Watch.UNVERIFIED):
        fields.append(("Watch could not read", "; ".join(findings["problems"])))
    if findings.get("rollback"):
        fields.append(("Rolled back by the watch", f"#{findings['rollback']}"))
    elif findings.get("rollback_refused"):
        fields.append(("Not rolled back", findings["rollback_refused"]))
    if deployment.watch == Watch.ENDED and findings.get("timeline"):
        fields.append(("Watch", findings["timeline"][-1]["text"]))
    return fields


def _rollback_button(deployment: Deployment) -> list[Button]:
    """Roll back an unhealthy deployment to the version that ran before it, as whoever clicks (rollback grant)."""
    if deployment.watch != Watch.UNHEALTHY or deployment.watch_findings.get("rollback"):
        return []
    target = deployment.target
    current = engine.current_deployment(target)
    if current is None or current.pk != deployment.pk:
        return []  # something newer runs there now
    try:
        version, _ = engine.rollback_choice(target)
    except engine.DeployError:
        return []
    where = f"{target.service.name} {target.environment.name} {version}"
    return [Button("Roll back", "rollback", where, style="danger")]


def describe(deployment: Deployment, message: str = "") -> Reply:
    """The state of a deployment, as one message."""
    state = State(deployment.state)
    text = f"{ICONS[state]} {headline(deployment)}"
    fields = [("Requested by", deployment.requester)]
    if deployment.source != Source.CHAT:  # we do not run it: the job or pipeline that asked does
        fields.append(("Started from", deployment.get_source_display()))
    buttons: list[Button] = []
    if deployment.pinning and state in (State.AWAITING_APPROVAL, State.QUEUED):
        text += " is waiting for its commit"
    elif state == State.QUEUED and deployment.source == Source.API:
        text += " is approved; it starts when its pipeline asks the gate again"
    elif state == State.AWAITING_APPROVAL:
        names = approvers(deployment)
        text += " is waiting for approval"
        fields.append(("Can approve", ", ".join(names) if names else "nobody yet: grant 'approve' in the admin"))
        buttons = [_approve_button(deployment), Button("Reject", "reject", str(deployment.pk), style="danger")]
    elif state == State.QUEUED:
        text += " is queued" + _blocker(deployment)
    elif state in ACTIVE_STATES:
        text += f" is {state.label}"
    elif state == State.SUCCEEDED:
        text += " succeeded"
        if deployment.watch:
            text += " · " + watch_summary(deployment)
            fields += _watch_fields(deployment)
            buttons = _rollback_button(deployment)
    else:
        text += f" {state.label}"
    if message:
        text += f": {message}"
    if deployment.overridden:  # break-glass is loud, on every update of the message
        who = deployment.requested_by.get_username()
        text = f"🚨 {who} went through {deployment.overridden}: {deployment.override_reason}\n{text}"
    if (deployment.changes.get("checks") or {}).get("state") == "failing" and not deployment.is_final:
        text += f" · ❌ CI is failing on {deployment.short_sha}"
    fields += _pin_fields(deployment)
    if state != State.AWAITING_APPROVAL:
        fields += _decision(deployment)
    if deployment.rollback_of is not None:
        fields.append(("Rolls back", f"#{deployment.rollback_of_id} ({deployment.rollback_of.version})"))
    if deployment.duration is not None:
        fields.append(("Duration", format_duration(deployment.duration)))
    if deployment.artifact:
        fields.append(("Artifact", deployment.artifact))
    links = [("Run", deployment.provider_run_url)] if deployment.provider_run_url else []
    if deployment.changes.get("compare_url"):
        links.append(("Compare", deployment.changes["compare_url"]))
    # Providers that know the commit they deployed (GitHub Actions) keep it in provider_data.
    if deployment.provider_data.get("head_sha") and not deployment.commit_sha:
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
