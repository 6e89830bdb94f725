"""Background tasks of the deploy engine. Each is safe to run twice: it acts only on the state it expects."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.module_loading import import_string

from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys import engine, queue
from chatops_site.deploys.models import ACTIVE_STATES, Deployment, DeploymentEvent, State
from integrations.providers import ProviderError, get_provider

log = logging.getLogger("chatops.deploys")

# Dispatch retries for a provider that is down: 3 tries, 2 s then 4 s apart.
DISPATCH_ATTEMPTS = 3
# A running deployment whose check is this late lost its task (a worker died, Redis forgot it).
LOST_CHECK_AFTER = 90
# A provider that answered with an error is asked again this much later.
RECHECK_AFTER_ERROR = 30


def start_next(target_id: int) -> None:
    engine.start_next(target_id)


def dispatch(deployment_id: int, attempt: int, wait: float = 0) -> None:
    time.sleep(wait)
    claimed = Deployment.objects.filter(
        pk=deployment_id, state=State.DISPATCHING, dispatch_attempts=attempt - 1
    ).update(dispatch_attempts=attempt)
    if not claimed:
        return  # another copy of this task got there first, or the deployment moved on
    deployment = Deployment.objects.select_related("target__service", "target__environment").get(pk=deployment_id)
    try:
        run = get_provider(deployment.target.provider).dispatch(deployment)
    except ProviderError as exc:
        if exc.permanent or attempt >= DISPATCH_ATTEMPTS:
            tries = "" if exc.permanent else f" after {attempt} attempts"
            engine.fail(deployment_id, f"could not start the deploy{tries}: {exc}")
        else:
            log.warning("#%s dispatch attempt %s failed: %s", deployment_id, attempt, exc)
            queue.later("dispatch", 2.0**attempt, deployment_id, attempt + 1)
        return
    except Exception as exc:
        log.exception("#%s dispatch crashed", deployment_id)
        engine.fail(deployment_id, f"could not start the deploy: internal error ({exc.__class__.__name__})")
        return
    engine.record_dispatch(deployment_id, run)


def check(deployment_id: int, due: str, wait: float = 0) -> None:
    time.sleep(wait)
    # Claim this check with a lease rather than clearing it: if this worker dies, the lease runs out
    # and `sweep` books the check again.
    lease = timezone.now() + timedelta(seconds=LOST_CHECK_AFTER)
    claimed = Deployment.objects.filter(
        pk=deployment_id, state=State.RUNNING, next_check_at=datetime.fromisoformat(due)
    ).update(next_check_at=lease)
    if not claimed:
        return
    deployment = Deployment.objects.select_related("target__service", "target__environment").get(pk=deployment_id)
    try:
        status = get_provider(deployment.target.provider).check(deployment)
    except ProviderError as exc:
        if exc.permanent:
            engine.fail(deployment_id, f"lost track of the run: {exc}")
            return
        log.warning("#%s status check failed: %s", deployment_id, exc)
    except Exception:
        log.exception("#%s status check crashed", deployment_id)
    else:
        engine.record_status(deployment_id, status)
        return
    # Keep asking; the target's timeout ends it if the provider never answers sensibly again.
    retry = timezone.now() + timedelta(seconds=RECHECK_AFTER_ERROR)
    still_ours = Deployment.objects.filter(pk=deployment_id, state=State.RUNNING, next_check_at=lease)
    if still_ours.update(next_check_at=retry):
        queue.check_later(deployment_id, retry, RECHECK_AFTER_ERROR)


def announce(deployment_id: int) -> None:
    """Tell the notifier about this deployment's transitions not yet announced, oldest first."""
    pending = list(
        DeploymentEvent.objects.filter(deployment_id=deployment_id, announced_at=None)
        .select_related("deployment__target__service", "deployment__target__environment", "actor")
        .order_by("id")
    )
    notifier = import_string(settings.CHATOPS_NOTIFIER)()
    for event in pending:
        if DeploymentEvent.objects.filter(pk=event.pk, announced_at=None).update(announced_at=timezone.now()):
            notifier.deployment_changed(event)


def sweep() -> None:
    """Every minute: expire approvals, time out stuck runs, and restart work whose task was lost."""
    now = timezone.now()
    engine.expire_approvals(now)
    engine.time_out_stuck(now)
    lost = Deployment.objects.filter(state=State.RUNNING, next_check_at__lt=now - timedelta(seconds=LOST_CHECK_AFTER))
    for deployment_id, due in lost.values_list("pk", "next_check_at"):
        queue.enqueue("check", deployment_id, due.isoformat())
    stalled = Deployment.objects.filter(
        state=State.DISPATCHING, dispatch_attempts=0, started_at__lt=now - timedelta(seconds=LOST_CHECK_AFTER)
    )
    for deployment_id in stalled.values_list("pk", flat=True):
        queue.enqueue("dispatch", deployment_id, 1)
    idle = DeployTarget.objects.filter(
        Exists(Deployment.objects.filter(target=OuterRef("pk"), state=State.QUEUED)),
        ~Exists(Deployment.objects.filter(target=OuterRef("pk"), state__in=ACTIVE_STATES)),
    )
    for target_id in idle.values_list("pk", flat=True):
        engine.start_next(target_id)
