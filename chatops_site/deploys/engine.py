"""The deploy rules, in one place: every entry point (chat, console, web, REST API, tasks) calls these.

A deployment moves `awaiting_approval -> queued -> dispatching -> running -> succeeded | failed`, or
ends `rejected`, `expired`, `cancelled` or `timed_out`. At most one deployment per target is active
(dispatching or running); the database enforces it with a partial unique index, and `start_next`
takes a row lock on the target so that concurrent requests queue in order instead of colliding.
Every transition is written as a `DeploymentEvent` and announced through the notifier after commit.
Every write to a deployment happens here, the tasks' claims and leases included; providers get an
`Order` and return what they saw, so they never read or write a row.

Deploys started elsewhere obey the same rules: a CI job asks the gate (`admit`, then `finish`), and a
GitHub Actions job whose environment has our protection rule waits for the answer that
`request_from_github` and `_move` give it. Neither is ever dispatched by us.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django_q.conf import Conf

from chatops_site import metrics, queue, sql, tracing
from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, DeployTarget, Environment, Service
from chatops_site.deploys import freezes, pinning, versions
from chatops_site.deploys.models import (
    ACTIVE_STATES,
    WAITING_STATES,
    Answer,
    Approval,
    Decision,
    Deployment,
    DeploymentEvent,
    Freeze,
    Kind,
    Lock,
    Source,
    State,
    Watch,
)
from chatops_site.durations import format_duration, format_moment
from chatops_site.webhooks import events as webhooks
from integrations.providers import Order, Run, RunStatus

log = logging.getLogger("chatops.deploys")

TRANSITIONS: dict[str, set[State]] = {
    State.AWAITING_APPROVAL: {State.QUEUED, State.REJECTED, State.EXPIRED, State.CANCELLED},
    State.QUEUED: {State.DISPATCHING, State.CANCELLED, State.EXPIRED, State.REJECTED},
    State.DISPATCHING: {State.RUNNING, State.FAILED, State.TIMED_OUT},
    State.RUNNING: {State.SUCCEEDED, State.FAILED, State.TIMED_OUT},
}
# A deployment started elsewhere is never dispatched by us: when its turn comes, its caller runs it.
STARTED_ELSEWHERE: dict[str, set[State]] = {State.QUEUED: {State.RUNNING}}


# A running deployment whose check is this late lost its task (a worker died, Redis forgot it); a claimed
# check holds its lease this long.
LOST_CHECK_AFTER = 90
# A provider that answered with an error is asked again this much later.
RECHECK_AFTER_ERROR = 30
# A claimed dispatch whose worker is gone: twice the task timeout, after which django-q has killed any
# worker still on it, so a second attempt never runs beside the first.
DISPATCH_LEASE = 2 * (Conf.TIMEOUT or 60)
# Longer waits than this go through the scheduler (which looks every 30 s) instead of a sleeping task.
SHORT_WAIT = 5.0
# Who asks for the deployments GitHub Actions jobs start; the job's actor is kept by login (`started_by`).
# The brackets keep the account apart from people: the admin and Django's forms refuse them in a username.
GITHUB_REQUESTER = "github[bot]"


class DeployError(Exception):
    """The rules refuse the request; the message is written for the person who asked."""


class UnknownDeployment(DeployError):
    """No such deployment, or none the person asking may see: both are answered alike."""


class AwaitingApproval(DeployError):
    """The gate asked for approval (or asked before and is still waiting): `deployment` is the request."""

    def __init__(self, message: str, deployment: Deployment):
        super().__init__(message)
        self.deployment = deployment


# Catalog lookups


def find_target(service: Service, environment: Environment) -> DeployTarget:
    target = sql.get(DeployTarget, service=service, environment=environment)  # every deploy asks: see sql.py
    if target is None:
        envs = ", ".join(t.environment.name for t in service.targets.select_related("environment")) or "nowhere yet"
        raise DeployError(f"{service.name} has no {environment.name} target (it deploys to: {envs}).")
    target.service, target.environment = service, environment
    return target


def _live_locks() -> QuerySet[Lock]:
    """The locks that hold now: not released, and not past their `until`."""
    live = Lock.objects.filter(released_at=None).filter(Q(until=None) | Q(until__gt=timezone.now()))
    return live.select_related("locked_by")


def active_lock(target: DeployTarget) -> Lock | None:
    if not sql.exists(Lock, target=target, released_at=None):  # every deploy asks, and mostly hears no (sql.py)
        return None
    return _live_locks().filter(target=target).first()


def active_locks(targets: Iterable[DeployTarget] | QuerySet[DeployTarget]) -> dict[int, Lock]:
    """target id -> the lock that holds it, for many targets in one query."""
    return {lock.target_id: lock for lock in _live_locks().filter(target__in=targets)}


def describe_lock(lock: Lock) -> str:
    text = f"{lock.target} is locked by {lock.locked_by.get_username()} since {format_moment(lock.created_at)}"
    if lock.reason:
        text += f": {lock.reason}"
    if lock.until:
        text += f" (until {format_moment(lock.until)})"
    return text


def holds(target: DeployTarget, kind: str = Kind.DEPLOY, by_watch: bool = False) -> str:
    """Why nothing may start on the target now (a lock, a freeze), or blank: one answer for requests and the queue.

    The watch's own rollback (`by_watch`) passes freezes, never locks.
    """
    lock = active_lock(target)
    if lock is not None:
        return describe_lock(lock) + "."
    frozen = freezes.holding(target, kind)
    if frozen is not None and not by_watch:
        return freezes.refusal(*frozen, target)
    return ""


def _passed(target: DeployTarget, kind: str) -> str:
    """What a break-glass request passes: "the lock by bob", "the freeze 'weekend'"; blank when nothing holds."""
    passed = []
    lock = active_lock(target)
    if lock is not None:
        passed.append(f"the lock by {lock.locked_by.get_username()}")
    frozen = freezes.holding(target, kind)
    if frozen is not None:
        passed.append(f"the freeze '{frozen[0].name}'")
    return " and ".join(passed)


def _succeeded_on(target: DeployTarget | OuterRef) -> QuerySet[Deployment]:
    """The target's successful deployments, the one that runs there now first."""
    return Deployment.objects.filter(target=target, state=State.SUCCEEDED).order_by("-finished_at", "-id")


def current_deployment(target: DeployTarget) -> Deployment | None:
    """The last deployment that succeeded on the target: what runs there now."""
    return _succeeded_on(target).first()


def current_id() -> Subquery:
    """The id of what runs on the target now, as an annotation of DeployTarget rows."""
    return Subquery(_succeeded_on(OuterRef("pk")).values("pk")[:1])


def current_deployments(targets: QuerySet[DeployTarget]) -> dict[int, Deployment]:
    """target id -> the deployment that runs there now, for many targets in two queries."""
    ids = dict(targets.annotate(current_id=current_id()).values_list("pk", "current_id"))
    found = Deployment.objects.select_related("requested_by").in_bulk([pk for pk in ids.values() if pk])
    return {target: found[pk] for target, pk in ids.items() if pk}


def rollback_choice(target: DeployTarget) -> tuple[str, Deployment]:
    """The last successful version before the current one, and the deployment being rolled back.

    Versions that were themselves rolled back are skipped, so two rollbacks in a row go two steps back.
    """
    current = current_deployment(target)
    if current is None:
        raise DeployError(f"Nothing has been deployed to {target} yet, so there is nothing to roll back.")
    succeeded = target.deployments.filter(state=State.SUCCEEDED)
    abandoned = succeeded.filter(kind=Kind.ROLLBACK, rollback_of__isnull=False).values("rollback_of__version")
    previous = (
        succeeded.filter(finished_at__lt=current.finished_at)
        .exclude(version=current.version)
        .exclude(version__in=abandoned)
        .order_by("-finished_at", "-id")
        .first()
    )
    if previous is None:
        raise DeployError(f"{target} has no earlier successful version than {current.version} to roll back to.")
    return previous.version, current


# Requests


def request_deploy(
    user: User,
    service: Service,
    environment: Environment,
    version: str | None = None,
    kind: str = Kind.DEPLOY,
    override: str = "",
    by_watch: bool = False,
) -> Deployment:
    """Ask for a deploy (or rollback) of a service to an environment, under RBAC, locks, freezes and approvals.

    A rollback goes back to the last good version, or to one named that once succeeded on the target:
    the `rollback` grant allows nothing else. `override` is a break-glass reason: with the `override`
    grant it passes locks and freezes (never approvals), and the channel hears it loudly. `by_watch` is the
    watch's own rollback of an unhealthy deploy (`_roll_back_unhealthy`, the only caller that sets it; no chat,
    web or API path can): no person asked, so no grant applies; it passes freezes, never locks or approvals.
    """
    action = Action.ROLLBACK if kind == Kind.ROLLBACK else Action.DEPLOY
    if by_watch and kind != Kind.ROLLBACK:
        raise DeployError("The watch only ever rolls back.")
    if not by_watch:
        rbac.require(user, action, service, environment)
    override = override.strip()
    if override:
        rbac.require(user, Action.OVERRIDE, service, environment)
    if version:
        versions.check(version)
    target = find_target(service, environment)
    held = holds(target, kind, by_watch)
    if held and not override:
        may = rbac.may(user, Action.OVERRIDE, service, environment)
        raise DeployError(held + (" You hold 'override': --override <reason> passes it." if may else ""))
    passed = _passed(target, kind) if override or by_watch else ""
    rollback_of = None
    if kind == Kind.ROLLBACK and version:
        if not target.deployments.filter(state=State.SUCCEEDED, version=version).exists():
            raise DeployError(
                f"{version} never succeeded on {target}, so there is nothing to roll back to: "
                f"/deploy {service.name} {environment.name} {version} ships it (with the deploy grant)."
            )
        rollback_of = current_deployment(target)
    elif kind == Kind.ROLLBACK:
        version, rollback_of = rollback_choice(target)
    if not version:
        version = target.default_version.strip()
        if not version:
            raise DeployError(f"{target} has no default version; say which one to deploy.")
        versions.check(version)  # typed into the admin or the catalog file: the same rule holds
    now = timezone.now()
    state = State.AWAITING_APPROVAL if environment.requires_approval else State.QUEUED
    pinned = pinning.needs_pin(service.repository)
    running = rollback_of if kind == Kind.ROLLBACK else current_deployment(target) if pinned else None
    with transaction.atomic():
        deployment = Deployment.objects.create(
            target=target,
            kind=kind,
            version=version,
            requested_by=user,
            rollback_of=rollback_of,
            state=state,
            requested_at=now,
            queued_at=now if state == State.QUEUED else None,
            pinning=pinned,
            base_sha=pinning.shipped_sha(running) if pinned else "",
            commit_sha=pinning.earlier_sha(target, version) if pinned and kind == Kind.ROLLBACK else "",
            override_reason=override,
            overridden=passed if override else "",
            by_watch=by_watch,
        )
        requested = f"{kind} of {version} requested"
        if by_watch:
            requested += f" by the watch, as #{deployment.rollback_of_id} turned unhealthy"
            requested += f", through {passed}" if passed else ""
        elif passed:
            requested += f" through {passed} by {user.get_username()}: {override}"
        _record(deployment, "", deployment.state, user, requested)
        if deployment.pinning:  # nothing is decided or started before the commit is known
            _enqueue("pin", deployment.pk)
        elif deployment.state == State.QUEUED:
            _enqueue("start_next", target.pk)
    return deployment


def pin(deployment_id: int) -> Deployment | None:
    """Pin a requested deployment to the commit its version points to now, with what that commit brings.

    The lookup calls out, so it runs outside any transaction; the first task to finish it writes it.
    A version the repository does not know ends the deployment as rejected, naming the closest refs.
    """
    deployment = Deployment.objects.select_related("target__service").get(pk=deployment_id)
    if not deployment.pinning or deployment.is_final:
        return None
    found = pinning.look_up(deployment)
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if not deployment.pinning:
            return None
        deployment.pinning = False
        if found.refusal:
            deployment.save(update_fields=["pinning"])
            if not deployment.is_final:
                _move(deployment, State.REJECTED, message=found.refusal)
            return deployment
        deployment.commit_sha = found.sha
        deployment.changes = found.changes or {}
        deployment.save(update_fields=["pinning", "commit_sha", "changes"])
        if not deployment.is_final:
            pinned = f"pinned {deployment.version} to {deployment.short_sha}" if found.sha else "not pinned"
            _record(deployment, deployment.state, deployment.state, None, pinned)
            if deployment.state == State.QUEUED:
                _enqueue("start_next", deployment.target_id)
    return deployment


# Decisions


def _own(user: User, deployment: Deployment) -> bool:
    """Four eyes: nobody decides on a deployment they asked for themselves.

    A job started on GitHub names its actor only by login: a user whose username is that login counts as
    the one who asked. It can only refuse a decision, never allow one.
    """
    if deployment.requested_by_id == user.pk:
        return True
    return bool(deployment.started_by) and deployment.started_by.lower() == user.get_username().lower()


def why_not_decide(user: User, deployment: Deployment) -> str:
    """Why `user` may not approve or reject `deployment`, or blank when they may."""
    if deployment.requested_by_id == user.pk:
        return f"You requested #{deployment.pk} yourself; someone else must approve or reject it."
    if _own(user, deployment):
        return (
            f"You started #{deployment.pk} on GitHub ({deployment.started_by}); someone else must approve or reject it."
        )
    target = deployment.target
    return rbac.refusal(user, Action.APPROVE, target.service, target.environment)


def may_decide(user: User, deployment: Deployment) -> bool:
    """Whether `user` may approve or reject `deployment`; the dashboard and the buttons ask this."""
    return not why_not_decide(user, deployment)


def deciders(deployment: Deployment) -> list[User]:
    """The active users who may approve or reject `deployment`."""
    target = deployment.target
    holders = rbac.holders(Action.APPROVE, target.service, target.environment)
    return [user for user in holders if not _own(user, deployment)]


def _decidable(user: User, deployment_id: int) -> tuple[Deployment, bool]:
    """Lock a deployment for a decision; the flag says it ran out of time (and is now expired).

    Who may decide is settled before anything about the deployment's state is said.
    """
    deployment = _locked(deployment_id)
    _refuse(user, deployment, why_not_decide(user, deployment))
    if deployment.state != State.AWAITING_APPROVAL:
        approval = Approval.objects.filter(deployment=deployment).select_related("approver").first()
        if approval is not None:
            raise DeployError(
                f"#{deployment.pk} was already {approval.get_decision_display()} by "
                f"{approval.approver.get_username()} at {format_moment(approval.decided_at)}."
            )
        raise DeployError(f"#{deployment.pk} is {deployment.get_state_display()}, not awaiting approval.")
    if deployment.requested_at + timedelta(seconds=settings.CHATOPS_APPROVAL_TTL) <= timezone.now():
        _move(deployment, State.EXPIRED, message="nobody approved it in time")
        return deployment, True
    return deployment, False


def _refuse(user: User, deployment: Deployment, refusal: str) -> None:
    """Raise the refusal, if any; to someone who may not even see the deployment, it does not exist."""
    if not refusal:
        return
    target = deployment.target
    if not _own(user, deployment) and not rbac.may(user, Action.VIEW, target.service, target.environment):
        raise UnknownDeployment(f"There is no deployment #{deployment.pk}.")
    raise rbac.Denied(refusal)


def _expired(deployment: Deployment) -> DeployError:
    return DeployError(f"#{deployment.pk} waited too long for approval and has expired; request it again.")


def approve(user: User, deployment_id: int, commit: str = "") -> Deployment:
    """Approve a waiting deployment: four-eyes, the `approve` grant, and only once.

    What is approved is the pinned commit: not before it is known, and, when the approver names the commit
    they saw (the buttons do), only that one.
    """
    with transaction.atomic():
        deployment, expired = _decidable(user, deployment_id)
        if not expired and deployment.pinning:
            raise DeployError(f"#{deployment.pk} is still being pinned to a commit; try again in a moment.")
        if not expired and commit and not deployment.commit_sha.startswith(commit.lower()):
            shipped = deployment.short_sha or "no pinned commit"
            raise DeployError(f"#{deployment.pk} ships {shipped}, not {commit}: look at it again before approving.")
        if not expired:
            Approval.objects.create(deployment=deployment, approver=user, decision=Decision.APPROVE)
            _move(deployment, State.QUEUED, actor=user, message=f"approved by {user.get_username()}")
            _enqueue("start_next", deployment.target_id)
    if expired:
        raise _expired(deployment)
    return deployment


def reject(user: User, deployment_id: int, reason: str = "") -> Deployment:
    with transaction.atomic():
        deployment, expired = _decidable(user, deployment_id)
        if not expired:
            Approval.objects.create(deployment=deployment, approver=user, decision=Decision.REJECT, reason=reason)
            message = f"rejected by {user.get_username()}" + (f": {reason}" if reason else "")
            _move(deployment, State.REJECTED, actor=user, message=message)
    if expired:
        raise _expired(deployment)
    return deployment


def cancel(user: User, deployment_id: int) -> Deployment:
    """Withdraw a deployment that has not started; the requester or a holder of `approve` may."""
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if not _own(user, deployment):
            target = deployment.target
            _refuse(user, deployment, rbac.refusal(user, Action.APPROVE, target.service, target.environment))
        if deployment.state not in (State.AWAITING_APPROVAL, State.QUEUED):
            raise DeployError(
                f"#{deployment.pk} is {deployment.get_state_display()}; only waiting ones can be cancelled."
            )
        _move(deployment, State.CANCELLED, actor=user, message=f"cancelled by {user.get_username()}")
    return deployment


# Locks


def lock(
    user: User, service: Service, environment: Environment, reason: str = "", until: datetime | None = None
) -> Lock:
    rbac.require(user, Action.LOCK, service, environment)
    target = find_target(service, environment)
    with transaction.atomic():
        DeployTarget.objects.select_for_update().get(pk=target.pk)
        existing = Lock.objects.filter(target=target, released_at=None).select_related("locked_by").first()
        if existing is not None and existing.is_active:
            raise DeployError(f"Already locked: {describe_lock(existing)}.")
        if existing is not None:  # ran out on its own; close it so the new one can open
            existing.released_at = existing.until
            existing.save(update_fields=["released_at"])
        return Lock.objects.create(target=target, locked_by=user, reason=reason, until=until)


def end_expired_locks(now: datetime | None = None) -> list[Lock]:
    """Close the locks whose time ran out, once each, and wake their targets; the caller tells the channels."""
    now = now or timezone.now()
    ended = []
    for lock_id in Lock.objects.filter(released_at=None, until__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            claimed = Lock.objects.filter(pk=lock_id, released_at=None).select_for_update().first()
            if claimed is None or claimed.until is None:
                continue
            claimed.released_at = claimed.until
            claimed.save(update_fields=["released_at"])
            _enqueue("start_next", claimed.target_id)
        ended.append(Lock.objects.select_related("target__service", "target__environment", "locked_by").get(pk=lock_id))
    return ended


def freeze_news(now: datetime | None = None) -> list[tuple[Freeze, str, freezes.Window]]:
    """Windows that started or ended since last said, each claimed once: (freeze, "started" | "ended", window).

    A window's end wakes the targets it held, so that their queued deployments start.
    """
    now = now or timezone.now()
    news = []
    for freeze in Freeze.objects.all():
        current = freezes.window_at(freeze, now)
        if current is not None and _claim(freeze, "announced_start", current[0]):
            news.append((freeze, "started", current))
        ended = freezes.window_at(freeze, freeze.announced_start) if freeze.announced_start else None
        if current is None and ended is not None and ended[1] <= now and _claim(freeze, "announced_end", ended[0]):
            news.append((freeze, "ended", ended))
            for target_id in DeployTarget.objects.filter(environment__freezes=freeze).values_list("pk", flat=True):
                _enqueue("start_next", target_id)
    return news


def _claim(freeze: Freeze, field: str, value: datetime) -> bool:
    """Move the freeze's announcement marker to `value` unless it is there, or another worker moved it first."""
    seen = getattr(freeze, field)
    if seen == value:
        return False
    return bool(Freeze.objects.filter(pk=freeze.pk, **{field: seen}).update(**{field: value}))


def unlock(user: User, service: Service, environment: Environment) -> Lock:
    rbac.require(user, Action.LOCK, service, environment)
    target = find_target(service, environment)
    with transaction.atomic():
        existing = active_lock(target)
        if existing is None:
            raise DeployError(f"{target} is not locked.")
        existing.released_at = timezone.now()
        existing.released_by = user
        existing.save(update_fields=["released_at", "released_by"])
        _enqueue("start_next", target.pk)
    return existing


def release(user: User, lock_ids: list[int]) -> list[Lock]:
    """Release locks as /unlock does (the admin's action), so the deploys queued behind them start."""
    now = timezone.now()
    with transaction.atomic():
        locks = list(Lock.objects.filter(pk__in=lock_ids, released_at=None).select_for_update())
        for each in locks:
            each.released_at, each.released_by = now, user
            each.save(update_fields=["released_at", "released_by"])
            _enqueue("start_next", each.target_id)
    return locks


def wake(target_id: int) -> None:
    """Look again whether a target's next deployment may start (say, a lock's end was brought forward)."""
    _enqueue("start_next", target_id)


# Deploys started elsewhere


def _busy(target: DeployTarget) -> str:
    """What a deploy started elsewhere would wait for: one active or queued first; blank when nothing."""
    ahead = Deployment.objects.filter(target=target).select_related("requested_by").order_by("id")
    first = (
        ahead.filter(state__in=ACTIVE_STATES).first()
        or ahead.filter(state=State.QUEUED).exclude(source=Source.API).first()
    )
    if first is None:
        return ""
    return (
        f"{target} is busy: #{first.pk} ({first.version}, by {first.requester}) is {first.get_state_display()}. "
        "Ask again when it ends."
    )


def _approval_needed(deployment: Deployment, new: bool) -> str:
    """How a gate request that needs approval gets it: who may give it, and what to do then."""
    names = ", ".join(user.get_username() for user in deciders(deployment)) or "nobody yet (grant 'approve')"
    pk = deployment.pk
    if new:
        said = f"{deployment.target.environment.name} requires approval: asked for as #{pk}"
    else:
        said = f"#{pk} still waits for approval"
    return (
        f"{said}; {names} may approve it (/approve {pk} in chat, or on the dashboard). Ask again once it is approved."
    )


def admit(
    user: User, service: Service, environment: Environment, version: str, commit: str = "", url: str = ""
) -> Deployment:
    """The gate: a deploy started elsewhere (Jenkins, GitLab, a script) asks to run now; yes records it running.

    The rules of `/deploy` hold (the `deploy` grant, the version's shape, locks and freezes, approval, one
    at a time), but a pipeline cannot sit in our queue: what would make a chat request wait refuses this
    one, saying why. Approval is asked for: the first call records the request, whose card goes to chat
    like any other, and refuses with `AwaitingApproval`; once someone else approves it, the same user's
    next call for the same version and commit is let through. Break-glass stays in chat, where it is heard.
    """
    rbac.require(user, Action.DEPLOY, service, environment)
    versions.check(version)
    commit = versions.check_commit(commit) if commit else ""
    target = find_target(service, environment)
    try:
        with transaction.atomic():
            DeployTarget.objects.select_for_update().get(pk=target.pk)
            held = holds(target)
            if held:
                raise DeployError(held)
            mine = Deployment.objects.filter(
                target=target, source=Source.API, requested_by=user, version=version, commit_sha=commit
            )
            request = mine.filter(state__in=WAITING_STATES).select_for_update().order_by("id").first()
            if request is None and environment.requires_approval:
                asked = _record_gate_request(user, target, version, commit, url)
                new = True
            elif request is not None and request.state == State.AWAITING_APPROVAL:
                asked, new = request, False
            else:
                busy = _busy(target)
                if busy:
                    raise DeployError(busy)
                return _let_through(user, target, request, version, commit, url)
    except IntegrityError:  # another deployment became active between our look and our write
        raise DeployError(
            f"{target} is busy: another deployment started a moment ago. Ask again when it ends."
        ) from None
    raise AwaitingApproval(_approval_needed(asked, new), asked)


def _record_gate_request(user: User, target: DeployTarget, version: str, commit: str, url: str) -> Deployment:
    deployment = Deployment.objects.create(
        target=target,
        version=version,
        commit_sha=commit,
        requested_by=user,
        source=Source.API,
        state=State.AWAITING_APPROVAL,
        provider_run_url=url,
    )
    _record(deployment, "", deployment.state, user, f"deploy of {version} asked for through the gate")
    return deployment


def _let_through(
    user: User, target: DeployTarget, request: Deployment | None, version: str, commit: str, url: str
) -> Deployment:
    """Record the deploy its caller is about to run: running from now, never dispatched by us."""
    message = f"started elsewhere: {url}" if url else "started elsewhere, through the gate"
    if request is not None:  # approved, and asked for again
        request.provider_run_url = url or request.provider_run_url
        _move(request, State.RUNNING, actor=user, message=message)
        return request
    now = timezone.now()
    deployment = Deployment.objects.create(
        target=target,
        version=version,
        commit_sha=commit,
        base_sha=pinning.shipped_sha(current_deployment(target)),
        requested_by=user,
        source=Source.API,
        state=State.RUNNING,
        requested_at=now,
        queued_at=now,
        started_at=now,
        provider_run_url=url,
    )
    _record(deployment, "", deployment.state, user, message)
    return deployment


def finish(user: User, deployment_id: int, result: str, url: str = "") -> Deployment:
    """The end of a deployment started elsewhere, as its caller reports it: succeeded or failed.

    Its requester may say so, or anyone holding `deploy` on its target. Deployments we run report their
    end through their provider, and only a running deployment can end.
    """
    if result not in (State.SUCCEEDED, State.FAILED):
        raise DeployError(f"A deployment ends succeeded or failed, not {result!r}.")
    with transaction.atomic():
        deployment = _locked(deployment_id)
        target = deployment.target
        if not _own(user, deployment):
            _refuse(user, deployment, rbac.refusal(user, Action.DEPLOY, target.service, target.environment))
        if deployment.source == Source.CHAT:
            raise DeployError(
                f"#{deployment.pk} is run by ChatOps through {target.get_provider_display()}, "
                "which reports its end; only deployments started elsewhere are finished through the API."
            )
        if deployment.state != State.RUNNING:
            raise DeployError(f"#{deployment.pk} is {deployment.get_state_display()}, not running: nothing to finish.")
        deployment.provider_run_url = url or deployment.provider_run_url
        _move(deployment, State(result), actor=user, message=f"{result}, says {user.get_username()}")
    return deployment


def _github_requester() -> User:
    user, created = User.objects.get_or_create(username=GITHUB_REQUESTER, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def request_from_github(
    service: Service, environment: Environment, *, sha: str, ref: str, login: str, run: Run
) -> Deployment:
    """A GitHub Actions job asks to deploy to an environment our protection rule guards; GitHub waits for us.

    The deployment is recorded whatever the answer: refused at once while a lock or freeze holds the target;
    otherwise it waits for approval and for its turn like a chat request, and `_move` answers GitHub when it
    starts (approved) or ends without starting (rejected). GitHub has decided who may start the job
    (repository access, the environment's branch rules); its actor is kept by login. `run` is the job's
    workflow run, whose end finishes the deployment.
    """
    target = find_target(service, environment)
    sha = versions.check_commit(sha)
    try:
        version = versions.check(ref)
    except versions.InvalidVersion:
        version = sha
    held = holds(target)
    now = timezone.now()
    state = State.REJECTED if held else State.AWAITING_APPROVAL if environment.requires_approval else State.QUEUED
    with transaction.atomic():
        deployment = Deployment.objects.create(
            target=target,
            version=version,
            commit_sha=sha,
            requested_by=_github_requester(),
            started_by=login[:100],
            source=Source.GITHUB,
            state=state,
            requested_at=now,
            queued_at=now if state == State.QUEUED else None,
            finished_at=now if held else None,
            pinning=not held and pinning.needs_pin(service.repository),
            provider_run_id=run.run_id,
            provider_run_url=run.url,
            provider_data=run.data,
            base_sha=pinning.shipped_sha(current_deployment(target)),
        )
        _record(deployment, "", state, None, held or f"deploy of {version} started on GitHub by {login}")
        _answer_github(deployment, held)
        if deployment.pinning:  # the commit is known; the pin fetches what it brings for the card
            _enqueue("pin", deployment.pk)
        elif state == State.QUEUED:
            _enqueue("start_next", target.pk)
    return deployment


def started_on_github(github_deployment_id: int) -> Deployment | None:
    """Our record of a GitHub deployment (a job's environment), if its protection rule asked us."""
    found = Deployment.objects.filter(source=Source.GITHUB, provider_data__github_deployment_id=github_deployment_id)
    return found.order_by("id").first()


def _answer_github(deployment: Deployment, message: str) -> None:
    """GitHub waits on a job it started until we answer, once: approved when its deployment starts running,
    rejected when it ends without starting (refused, rejected, expired, cancelled), saying why."""
    if deployment.source != Source.GITHUB or deployment.answer:
        return
    if deployment.state == State.RUNNING:
        approval = Approval.objects.filter(deployment=deployment).select_related("approver").first()
        why = f"approved by {approval.approver.get_username()}" if approval else f"nothing holds {deployment.target}"
        deployment.answer = Answer.APPROVED
    elif deployment.is_final:
        why = message or deployment.get_state_display()
        deployment.answer = Answer.REJECTED
    else:
        return
    deployment.answer_comment = f"ChatOps #{deployment.pk}: {why}"[:1000]
    deployment.save(update_fields=["answer", "answer_comment"])
    _enqueue("answer", deployment.pk, 1)


def claim_answer(deployment_id: int) -> Deployment | None:
    """Take the answer to GitHub that the engine decided; None when there is none or another task took it.

    Taken at most once, as announcements are: a worker that dies holding it loses it, and GitHub's job
    then waits until GitHub gives up on it (our record times out first).
    """
    claimed = (
        Deployment.objects.filter(pk=deployment_id, answered_at=None)
        .exclude(answer="")
        .update(answered_at=timezone.now())
    )
    return Deployment.objects.select_related("target__environment").get(pk=deployment_id) if claimed else None


def answer_again(deployment_id: int, attempt: int, delay: float) -> None:
    """GitHub could not take the answer now: give the claim back and book attempt `attempt`."""
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment_id).update(answered_at=None)
        _later("answer", delay, deployment_id, attempt)


def answer_failed(deployment_id: int, error: str) -> Deployment:
    """GitHub will not take the answer: say so on the deployment; an approved one will never run."""
    message = f"GitHub did not take the answer: {error}"
    log.warning("#%s: %s", deployment_id, message)
    with transaction.atomic():
        deployment = _locked(deployment_id)
        deployment.detail = message
        if deployment.state == State.RUNNING:
            _move(deployment, State.FAILED, message=message)
        else:
            deployment.save(update_fields=["detail"])
    return deployment


# The queue and the providers' answers (called from tasks)


def start_next(target_id: int) -> Deployment | None:
    """Start the oldest queued deployment of a target if nothing is active there and it is not locked.

    A GitHub job's deployment is not dispatched: it starts running, and `_move` tells GitHub to go ahead.
    An approved gate request is not in this queue: its pipeline starts it by asking the gate again.
    """
    try:
        with transaction.atomic():
            target = DeployTarget.objects.select_for_update().get(pk=target_id)
            if Deployment.objects.filter(target=target, state__in=ACTIVE_STATES).exists():
                return None
            deployment = (
                Deployment.objects.select_for_update()
                .filter(target=target, state=State.QUEUED)
                .exclude(source=Source.API)
                .order_by("queued_at", "id")
                .first()
            )
            if deployment is None or deployment.pinning:  # its pin starts it when done
                return None
            # A lock or freeze keeps the queue waiting (the sweep looks again each minute); break-glass passes.
            if not deployment.override_reason and holds(target, deployment.kind, deployment.by_watch):
                return None
            if deployment.source == Source.GITHUB:
                _move(deployment, State.RUNNING, message="its turn came: GitHub runs the job")
                return deployment
            _move(deployment, State.DISPATCHING)
            _enqueue("dispatch", deployment.pk, 1)
            return deployment
    except IntegrityError:
        # Another worker started one between our check and our write; the index kept us honest.
        log.info("start_next(%s): another deployment became active first", target_id)
        return None


def record_dispatch(deployment_id: int, run: Run, moved_to: str = "") -> Deployment | None:
    """The run started; `moved_to` is where the deployment's ref points by now, when it moved on since the pin."""
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if deployment.state != State.DISPATCHING:
            return None
        deployment.provider_run_id = run.run_id
        deployment.provider_run_url = run.url
        deployment.provider_data = {**deployment.provider_data, **run.data}
        message = f"run {run.run_id} started" if run.run_id else "dispatched"
        if moved_to:
            deployment.changes = {**deployment.changes, "moved_to": moved_to}
            message += f"; {moved_on(deployment)}"
        due = _due(deployment, run.check_in)
        _move(deployment, State.RUNNING, message=message)
        _check_later(deployment.pk, due, run.check_in)
    return deployment


def record_status(deployment_id: int, status: RunStatus) -> Deployment | None:
    """Apply what the provider said about a running deployment; schedule the next look if it goes on."""
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if deployment.state != State.RUNNING:
            return None
        deployment.provider_run_id = status.run_id or deployment.provider_run_id
        deployment.provider_run_url = status.url or deployment.provider_run_url
        deployment.artifact = status.artifact or deployment.artifact
        deployment.detail = status.detail or deployment.detail
        deployment.provider_data = {**deployment.provider_data, **status.data}
        if status.done:
            _move(deployment, State(status.state), message=status.detail)
        elif deployment.source != Source.CHAT:  # a run started elsewhere is followed by its webhooks alone
            deployment.save(
                update_fields=["provider_run_id", "provider_run_url", "artifact", "detail", "provider_data"]
            )
        else:
            due = _due(deployment, status.check_in)
            fields = ["provider_run_id", "provider_run_url", "artifact", "detail", "provider_data", "next_check_at"]
            deployment.save(update_fields=fields)
            _check_later(deployment.pk, due, status.check_in)
    return deployment


def moved_on(deployment: Deployment) -> str:
    """What to say when the ref moved on after the deployment was pinned; blank when it did not."""
    moved_to = str(deployment.changes.get("moved_to") or "")
    if not moved_to:
        return ""
    return (
        f"{deployment.version} has moved on to {moved_to[:7]} since it was pinned; "
        f"{deployment.short_sha} ships, as requested and approved"
    )


def fail(deployment_id: int, message: str) -> Deployment | None:
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if deployment.state not in ACTIVE_STATES:
            return None
        deployment.detail = message
        _move(deployment, State.FAILED, message=message)
    return deployment


def claim_dispatch(deployment_id: int, attempt: int) -> Order | None:
    """Take dispatch attempt `attempt`; None when another copy of the task took it or the deployment moved on.

    The claim holds a lease (in `next_check_at`, unused while dispatching): if the worker dies, the sweep
    books the next attempt, which asks the provider whether it saw this one before starting anything.
    """
    lease = timezone.now() + timedelta(seconds=DISPATCH_LEASE)
    claimed = Deployment.objects.filter(
        pk=deployment_id, state=State.DISPATCHING, dispatch_attempts=attempt - 1
    ).update(dispatch_attempts=attempt, next_check_at=lease)
    return order_of(deployment_id) if claimed else None


def dispatch_again(deployment_id: int, attempt: int, delay: float) -> None:
    """Book dispatch attempt `attempt` of a deployment `delay` seconds from now."""
    _later("dispatch", delay, deployment_id, attempt)


def claim_check(deployment_id: int, due: datetime) -> tuple[Order, datetime] | None:
    """Take the status check booked for `due`, with a lease rather than clearing it: if this worker dies,
    the lease runs out and the sweep books the check again. None when it is not this check's turn."""
    lease = timezone.now() + timedelta(seconds=LOST_CHECK_AFTER)
    claimed = Deployment.objects.filter(pk=deployment_id, state=State.RUNNING, next_check_at=due).update(
        next_check_at=lease
    )
    return (order_of(deployment_id), lease) if claimed else None


def check_again(deployment_id: int, lease: datetime) -> None:
    """The provider could not answer the check holding `lease`: ask again later; the timeout ends it if never."""
    retry = timezone.now() + timedelta(seconds=RECHECK_AFTER_ERROR)
    still_ours = Deployment.objects.filter(pk=deployment_id, state=State.RUNNING, next_check_at=lease)
    if still_ours.update(next_check_at=retry):
        _check_later(deployment_id, retry, RECHECK_AFTER_ERROR)


def order_of(deployment_id: int) -> Order:
    """What the deployment's provider needs to know, read afresh."""
    return order(Deployment.objects.select_related("target__service", "target__environment").get(pk=deployment_id))


def running_orders(provider: str) -> list[Order]:
    """The running deployments of one provider, for news that arrives by webhook and names only its run."""
    running = Deployment.objects.filter(state=State.RUNNING, target__provider=provider, source=Source.CHAT)
    return [order(d) for d in running.select_related("target__service", "target__environment").order_by("id")]


def outside_orders(source: str) -> list[Order]:
    """The running deployments started elsewhere (GitHub jobs), for the webhooks that tell their end."""
    running = Deployment.objects.filter(state=State.RUNNING, source=source)
    return [order(d) for d in running.select_related("target__service", "target__environment").order_by("id")]


def follows_run(provider: str, run_id: str) -> bool:
    """Whether a deployment of ours follows this provider run (so we report on it ourselves)."""
    return Deployment.objects.filter(target__provider=provider, provider_run_id=run_id).exists()


def order(deployment: Deployment) -> Order:
    """What a provider needs to know about `deployment`, as it stands."""
    target = deployment.target
    earlier: tuple[dict, ...] = ()
    if deployment.kind == Kind.ROLLBACK:
        succeeded = target.deployments.filter(state=State.SUCCEEDED, version=deployment.version)
        earlier = tuple(succeeded.order_by("id").values_list("provider_data", flat=True))
    return Order(
        deployment_id=deployment.pk,
        provider=target.provider,
        kind=deployment.kind,
        version=deployment.version,
        commit_sha=deployment.commit_sha,
        service=target.service.name,
        environment=target.environment.name,
        target=str(target),
        repository=target.service.repository,
        settings=dict(target.settings),
        started_at=deployment.started_at or deployment.requested_at,
        attempt=deployment.dispatch_attempts,
        run_id=deployment.provider_run_id,
        data=dict(deployment.provider_data),
        earlier=earlier,
    )


def unannounced(deployment_id: int) -> list[DeploymentEvent]:
    """The deployment's transitions that chat has not heard of yet, oldest first."""
    pending = DeploymentEvent.objects.filter(deployment_id=deployment_id, announced_at=None)
    return list(
        pending.select_related("deployment__target__service", "deployment__target__environment", "actor").order_by("id")
    )


def claim_announcement(event: DeploymentEvent) -> bool:
    """Take the announcement of one transition; False when another copy of the task took it first."""
    return bool(DeploymentEvent.objects.filter(pk=event.pk, announced_at=None).update(announced_at=timezone.now()))


def recover_lost_work(now: datetime) -> None:
    """Book again the checks and dispatches whose task or worker was lost, and start what waits behind nothing.

    A dispatch taken up again keeps its target blocked: the next attempt adopts the run the provider may
    have started for the lost one (every provider's `dispatch` does for attempts after the first). Every
    list is read before anything is booked, so work booked here is never taken for lost in the same pass.
    """
    lost = Deployment.objects.filter(state=State.RUNNING, next_check_at__lt=now - timedelta(seconds=LOST_CHECK_AFTER))
    stalled = Deployment.objects.filter(
        state=State.DISPATCHING, dispatch_attempts=0, started_at__lt=now - timedelta(seconds=LOST_CHECK_AFTER)
    )
    unpinned = Deployment.objects.filter(
        pinning=True, state__in=WAITING_STATES, requested_at__lt=now - timedelta(seconds=LOST_CHECK_AFTER)
    )
    abandoned = Deployment.objects.filter(state=State.DISPATCHING, dispatch_attempts__gt=0, next_check_at__lt=now)
    idle = DeployTarget.objects.filter(
        Exists(Deployment.objects.filter(target=OuterRef("pk"), state=State.QUEUED).exclude(source=Source.API)),
        ~Exists(Deployment.objects.filter(target=OuterRef("pk"), state__in=ACTIVE_STATES)),
    )
    checks = list(lost.values_list("pk", "next_check_at"))
    first_dispatches = list(stalled.values_list("pk", flat=True))
    pins = list(unpinned.values_list("pk", flat=True))
    next_dispatches = list(abandoned.values_list("pk", "dispatch_attempts"))
    targets = list(idle.values_list("pk", flat=True))
    for deployment_id, due in checks:
        if due is not None:  # the filter says so; the type cannot
            _enqueue("check", deployment_id, due.isoformat())
    for deployment_id in first_dispatches:
        _enqueue("dispatch", deployment_id, 1)
    for deployment_id in pins:
        _enqueue("pin", deployment_id)
    for deployment_id, attempts in next_dispatches:
        log.warning("#%s: dispatch attempt %s was lost with its worker; trying again", deployment_id, attempts)
        _enqueue("dispatch", deployment_id, attempts + 1)
    for target_id in targets:
        start_next(target_id)


def expire_approvals(now: datetime | None = None) -> int:
    """Expire the deployments nobody approved within CHATOPS_APPROVAL_TTL."""
    return _expire(State.AWAITING_APPROVAL, "requested_at", now, lambda deployment: "nobody approved it in time")


def expire_unstarted(now: datetime | None = None) -> int:
    """Expire queued deployments that could not start within CHATOPS_APPROVAL_TTL of their approval (or request).

    A decision is about the moment it was made: lifting a lock a month later must not ship it.
    """
    limit = format_duration(timedelta(seconds=settings.CHATOPS_APPROVAL_TTL))

    def why(deployment: Deployment) -> str:
        waited = "its approval" if deployment.queued_at != deployment.requested_at else "it was asked for"
        return f"could not start within {limit} of {waited}; ask again"

    return _expire(State.QUEUED, "queued_at", now, why)


def _expire(state: State, since: str, now: datetime | None, why: Callable[[Deployment], str]) -> int:
    """Expire the deployments still in `state` CHATOPS_APPROVAL_TTL after their `since` moment."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.CHATOPS_APPROVAL_TTL)
    stale = Deployment.objects.filter(state=state, **{f"{since}__lte": cutoff}).values_list("pk", flat=True)
    expired = 0
    for pk in stale:
        with transaction.atomic():
            deployment = _locked(pk)
            if deployment.state == state:
                _move(deployment, State.EXPIRED, message=why(deployment))
                expired += 1
    return expired


def time_out_stuck(now: datetime | None = None) -> int:
    """Time out the active deployments running longer than their target allows."""
    now = now or timezone.now()
    timed_out = 0
    for deployment in Deployment.objects.filter(state__in=ACTIVE_STATES).select_related("target"):
        started = deployment.started_at or deployment.requested_at
        if started + deployment.target.timeout > now:
            continue
        with transaction.atomic():
            deployment = _locked(deployment.pk)
            if deployment.state in ACTIVE_STATES:
                limit = format_duration(deployment.target.timeout)
                _move(deployment, State.TIMED_OUT, message=f"still not finished after {limit}")
                timed_out += 1
    return timed_out


# The watch after a deploy (its rules: `watch`)

# Who the watch's own requests are recorded as (`requested_by` names someone): a user made when first needed,
# inactive, so nobody logs in as it, no grant covers it and it never approves.
WATCH_USERNAME = "watch"


def watch_user() -> User:
    user, created = User.objects.get_or_create(
        username=WATCH_USERNAME, defaults={"is_active": False, "first_name": "ChatOps", "last_name": "watch"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _start_watch(deployment: Deployment) -> None:
    """A deployment just succeeded: it ends the watch of the one before it, and is watched if its target says so."""
    earlier = Deployment.objects.select_for_update().filter(target_id=deployment.target_id, watch=Watch.WATCHING)
    for each in earlier.exclude(pk=deployment.pk):
        _watch_news(each, Watch.ENDED, f"watch ended by #{deployment.pk} ({deployment.version}), which succeeded")
    plan = deployment.target.watch
    if not plan or deployment.finished_at is None:
        return
    deployment.watch_until = deployment.finished_at + timedelta(minutes=plan["minutes"])
    deployment.watch_findings = {**plan, "checks": 0, "failed_checks": 0, "timeline": []}
    what = [*plan["alarms"], "CPU/memory critical"]
    _watch_news(deployment, Watch.WATCHING, f"watching for {plan['minutes']} min: {', '.join(what)}")


def record_watch(deployment_id: int, checks: int, state: str, findings: dict, message: str) -> Deployment | None:
    """Write what the watch's check number `checks + 1` found (`watch` decides it) and announce `message`.

    None when the watch ended meanwhile or another copy of the check wrote first. An unhealthy deployment of a
    target whose watch says `auto_rollback` is rolled back by the watch itself, once; a rollback never is.
    """
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if deployment.watch != Watch.WATCHING or deployment.watch_findings.get("checks", 0) != checks:
            return None
        deployment.watch_findings = findings
        if state == Watch.UNHEALTHY and findings.get("auto_rollback") and deployment.kind != Kind.ROLLBACK:
            message += "; " + _roll_back_unhealthy(deployment)
        _watch_news(deployment, Watch(state), message)
    return deployment


def end_watch(deployment_id: int, message: str) -> Deployment | None:
    """End a watch early (a newer deployment of the target started); None when it was not being watched."""
    with transaction.atomic():
        deployment = _locked(deployment_id)
        if deployment.watch != Watch.WATCHING:
            return None
        _watch_news(deployment, Watch.ENDED, message)
    return deployment


def _roll_back_unhealthy(deployment: Deployment) -> str:
    """Request the rollback of an unhealthy deployment as the watch; what to say about it."""
    target = deployment.target
    current = current_deployment(target)
    if current is None or current.pk != deployment.pk:
        return "not rolled back by the watch: it no longer runs there"
    try:
        version, _ = rollback_choice(target)
        rollback = request_deploy(
            watch_user(), target.service, target.environment, version, Kind.ROLLBACK, by_watch=True
        )
    except DeployError as exc:
        deployment.watch_findings["rollback_refused"] = str(exc)
        return f"the watch could not roll back: {exc}"
    deployment.watch_findings["rollback"] = rollback.pk
    return f"rolling back to {version}: #{rollback.pk}, requested by the watch"


def _watch_news(deployment: Deployment, state: Watch, message: str) -> None:
    """Move the watch, note it on its timeline and, with a message, announce it: the deployment's own message
    is edited (an event from `succeeded` to `succeeded`, as a pin notes one)."""
    deployment.watch = state
    if message:
        timeline = [*deployment.watch_findings.get("timeline", []), {"at": timezone.now().isoformat(), "text": message}]
        deployment.watch_findings = {**deployment.watch_findings, "timeline": timeline}
    deployment.save(update_fields=["watch", "watch_until", "watch_findings"])
    if message:
        _record(deployment, deployment.state, deployment.state, None, message)


# Internals


TASKS = "chatops_site.deploys.tasks"


def _enqueue(name: str, *args: object, **kwargs: object) -> None:
    """Queue one of the deploy tasks; like every task, it runs only if and once this transaction commits."""
    queue.enqueue(f"{TASKS}.{name}", *args, group=name, **kwargs)


def _later(name: str, delay: float, *args: object) -> None:
    """Run a deploy task after `delay` seconds; no worker sits on a deploy for minutes.

    Waits of a few seconds happen at the start of the next short task (its `wait`); longer ones become a
    one-off `Schedule`, a row of our own database written in the asking transaction, so it exists exactly
    if the work that asked for it does.
    """
    if delay <= SHORT_WAIT:
        _enqueue(name, *args, wait=max(delay, 0))
        return
    queue.later(f"{TASKS}.{name}", tuple(args), timezone.now() + timedelta(seconds=delay))


def _check_later(deployment_id: int, due: datetime, delay: float) -> None:
    """Book the status check that `due` names; only the task holding that due time may run it."""
    _later("check", delay, deployment_id, due.isoformat())


def _locked(deployment_id: int) -> Deployment:
    try:
        return (
            Deployment.objects.select_for_update(of=("self",))
            .select_related("target__service", "target__environment", "requested_by")
            .get(pk=deployment_id)
        )
    except Deployment.DoesNotExist:
        raise UnknownDeployment(f"There is no deployment #{deployment_id}.") from None


def _due(deployment: Deployment, seconds: float) -> datetime:
    deployment.next_check_at = timezone.now() + timedelta(seconds=max(seconds, 0))
    return deployment.next_check_at


def _move(deployment: Deployment, to: State, actor: User | None = None, message: str = "") -> None:
    """The only place a deployment changes state."""
    allowed = TRANSITIONS.get(deployment.state, set())
    if deployment.source != Source.CHAT:
        allowed = allowed | STARTED_ELSEWHERE.get(deployment.state, set())
    if to not in allowed:
        raise DeployError(f"#{deployment.pk} cannot go from {deployment.state} to {to}.")
    before = deployment.state
    now = timezone.now()
    deployment.state = to
    if to == State.QUEUED:
        deployment.queued_at = now
    elif to == State.DISPATCHING or (to == State.RUNNING and deployment.started_at is None):
        deployment.started_at = now
    elif deployment.is_final:
        deployment.finished_at = now
        deployment.next_check_at = None
    deployment.save()
    _record(deployment, before, to, actor, message)
    if to == State.SUCCEEDED:
        _start_watch(deployment)
    metrics.deployment_moved(deployment)
    _answer_github(deployment, message)
    if before in ACTIVE_STATES:
        _enqueue("start_next", deployment.target_id)


def _record(deployment: Deployment, before: str, to: str, actor: User | None, message: str) -> None:
    tracing.label(deployment_id=deployment.pk)  # the span of the command or task that moved it, and their tasks
    DeploymentEvent.objects.create(deployment=deployment, from_state=before, to_state=to, actor=actor, message=message)
    log.info("#%s %s: %s -> %s %s", deployment.pk, deployment.target, before or "-", to, message)
    _enqueue("announce", deployment.pk)
    webhooks.deployment_recorded(deployment, before, to, actor, message)
