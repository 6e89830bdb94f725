"""Demo data for a first look (and the personas the tests use): idempotent, offline."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chatops_site.catalog.models import Action, ChatIdentity, DeployTarget, Environment, Grant, Service
from chatops_site.deploys.models import FINAL_STATES, Approval, Decision, Deployment, DeploymentEvent, Kind, State

ENVIRONMENTS: list[dict[str, Any]] = [
    {"name": "dev", "order": 10},
    {"name": "staging", "order": 20},
    {"name": "prod", "order": 30, "requires_approval": True, "protected": True},
]
SERVICES = [
    {"name": "web-app", "repository": "acme/web-app", "description": "Public web front end", "team": "web"},
    {"name": "api", "repository": "acme/api", "description": "REST API behind the apps", "team": "platform"},
    {"name": "worker", "repository": "acme/worker", "description": "Background jobs", "team": "platform"},
]
# user -> [(action, environment or None for all)]
GRANTS: dict[str, list[tuple[Action, str | None]]] = {
    "alice": [(Action.DEPLOY, None), (Action.ROLLBACK, None), (Action.VIEW, None)],
    "bob": [
        (Action.APPROVE, "prod"),
        (Action.DEPLOY, "dev"),
        (Action.DEPLOY, "staging"),
        (Action.LOCK, None),
        (Action.VIEW, None),
    ],
    "carol": [(Action.VIEW, None)],
}


@transaction.atomic
def seed_catalog(delay: str | None = None) -> None:
    """Environments, services, simulated targets, the three personas with grants and console identities."""
    envs: dict[str, Environment] = {}
    for spec in ENVIRONMENTS:
        envs[spec["name"]], _ = Environment.objects.update_or_create(name=spec["name"], defaults=spec)
    for spec in SERVICES:
        service, _ = Service.objects.update_or_create(name=spec["name"], defaults=spec)
        for env in envs.values():
            settings = {"delay": delay} if delay is not None else {}
            DeployTarget.objects.update_or_create(
                service=service,
                environment=env,
                defaults={"provider": "simulated", "settings": settings, "channel": "console:ops"},
            )
    users = get_user_model().objects
    for username, grants in GRANTS.items():
        user, created = users.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        if created:
            user.set_unusable_password()
            user.save()
        for action, env_name in grants:
            Grant.objects.get_or_create(
                user=user, action=action, service=None, environment=envs.get(env_name) if env_name else None
            )
        ChatIdentity.objects.get_or_create(
            platform="console", workspace="local", chat_user_id=username, defaults={"user": user}
        )


# The watch after a deploy, on two staging targets (the offline demo's alarms: `manage.py demo_alarm`).
WATCHES = {
    ("web-app", "staging"): {"minutes": 2, "alarms": ["web-5xx"], "auto_rollback": False},
    ("api", "staging"): {"minutes": 2, "alarms": ["api-5xx"], "auto_rollback": True},
}


def seed_watches() -> int:
    """Give the demo's watched targets their watch, unless someone gave them one already; how many were given."""
    given = 0
    for (service, environment), watch in WATCHES.items():
        given += DeployTarget.objects.filter(service__name=service, environment__name=environment, watch={}).update(
            watch=watch
        )
    return given


@transaction.atomic
def seed_history(days: int = 5, seed: int = 7) -> int:
    """A few days of finished deployments, written directly (no tasks): only when there is no history yet."""
    if Deployment.objects.exists():
        return 0
    rng = random.Random(seed)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=GRANTS)}
    now = timezone.now()
    made = 0
    for service in Service.objects.all():
        minor = rng.randint(2, 6)
        for day in range(days, 0, -1):
            minor += 1
            version = f"v1.{minor}.0"
            start = now - timedelta(days=day, hours=rng.randint(1, 8))
            for target in service.targets.select_related("environment").order_by("environment__order"):
                start += timedelta(minutes=rng.randint(20, 90))
                broken = rng.random() < 0.12
                state = State.FAILED if broken else State.SUCCEEDED
                requester = (
                    users["alice"] if target.environment.name == "prod" else rng.choice([users["alice"], users["bob"]])
                )
                _finished(target, version, requester, state, start, rng.randint(40, 400), users["bob"])
                made += 1
                if broken:
                    break
    return made


def _finished(target, version, requester, state, start, seconds, approver) -> Deployment:
    end = start + timedelta(seconds=seconds)
    deployment = Deployment.objects.create(
        target=target,
        kind=Kind.DEPLOY,
        version=version,
        state=state,
        requested_by=requester,
        provider_run_id=f"sim-demo-{target.pk}-{version}",
        artifact=f"registry.local/{target.service.name}:{version}" if state == State.SUCCEEDED else "",
        detail="" if state == State.SUCCEEDED else "smoke tests failed after rollout",
        requested_at=start,
        queued_at=start,
        started_at=start + timedelta(seconds=5),
        finished_at=end,
    )
    path = [State.QUEUED, State.DISPATCHING, State.RUNNING, state]
    if target.environment.requires_approval:
        path.insert(0, State.AWAITING_APPROVAL)
        Approval.objects.create(deployment=deployment, approver=approver, decision=Decision.APPROVE, decided_at=start)
    before = ""
    for step in path:
        DeploymentEvent.objects.create(
            deployment=deployment, from_state=before, to_state=step, created_at=start, announced_at=start
        )
        before = step
    assert state in FINAL_STATES
    return deployment
