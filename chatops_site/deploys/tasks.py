"""Background tasks of the deploy engine. Each is safe to run twice: the engine claims the state it expects.

The tasks talk to the providers; every row they change is changed by `engine`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from chatops_site import queue, tracing
from chatops_site.deploys import engine, pinning, watch
from integrations.github import protection
from integrations.providers import Order, ProviderError, get_provider

log = logging.getLogger("chatops.deploys")

# A deployment message whose last post to a channel failed is posted again by the sweep for this long.
MEND_WITHIN = timedelta(hours=1)
# Dispatch retries for a provider that is down: 3 tries, 2 s then 4 s apart.
DISPATCH_ATTEMPTS = 3
# Answers GitHub could not take: 6 tries, 5 s, 10 s, 20 s... apart (GitHub's job waits meanwhile).
ANSWER_ATTEMPTS = 6


def start_next(target_id: int) -> None:
    engine.start_next(target_id)


def pin(deployment_id: int) -> None:
    engine.pin(deployment_id)


def dispatch(deployment_id: int, attempt: int, wait: float = 0) -> None:
    time.sleep(wait)
    order = engine.claim_dispatch(deployment_id, attempt)
    if order is None:
        return  # another copy of this task got there first, or the deployment moved on
    _label(order)
    # The pinned commit ships whatever happens; people are told when its ref has moved on since.
    moved_to = pinning.moved(order.repository, order.version, order.commit_sha)
    try:
        run = get_provider(order.provider).dispatch(order)
    except ProviderError as exc:
        if exc.permanent or attempt >= DISPATCH_ATTEMPTS:
            tries = "" if exc.permanent else f" after {attempt} attempts"
            engine.fail(deployment_id, f"could not start the deploy{tries}: {exc}")
        else:
            log.warning("#%s dispatch attempt %s failed: %s", deployment_id, attempt, exc)
            engine.dispatch_again(deployment_id, attempt + 1, 2.0**attempt)
        return
    except Exception as exc:
        log.exception("#%s dispatch crashed", deployment_id)
        engine.fail(deployment_id, f"could not start the deploy: internal error ({exc.__class__.__name__})")
        return
    engine.record_dispatch(deployment_id, run, moved_to)


def check(deployment_id: int, due: str, wait: float = 0) -> None:
    time.sleep(wait)
    claimed = engine.claim_check(deployment_id, datetime.fromisoformat(due))
    if claimed is None:
        return
    order, lease = claimed
    _label(order)
    try:
        status = get_provider(order.provider).check(order)
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
    engine.check_again(deployment_id, lease)


def _label(order: Order) -> None:
    """The task's span names the deployment, also when no command set it off (the sweep restarted it)."""
    tracing.label(deployment_id=order.deployment_id, service=order.service, environment=order.environment)


def answer(deployment_id: int, attempt: int, wait: float = 0) -> None:
    """Give GitHub the engine's answer on a job it started (its deployment protection rule waits for it)."""
    time.sleep(wait)
    deployment = engine.claim_answer(deployment_id)
    if deployment is None:
        return  # nothing to say, or another copy of this task said it
    tracing.label(deployment_id=deployment_id)
    try:
        protection.review(deployment.provider_data, deployment.answer, deployment.answer_comment)
    except ProviderError as exc:
        if exc.permanent or attempt >= ANSWER_ATTEMPTS:
            engine.answer_failed(deployment_id, str(exc))
        else:
            log.warning("#%s: answer attempt %s failed: %s", deployment_id, attempt, exc)
            engine.answer_again(deployment_id, attempt + 1, 5.0 * 2 ** (attempt - 1))
    except Exception as exc:
        log.exception("#%s: answering GitHub crashed", deployment_id)
        engine.answer_failed(deployment_id, f"internal error ({exc.__class__.__name__})")


def announce(deployment_id: int) -> None:
    """Tell the notifier about this deployment's transitions not yet announced, oldest first."""
    notifier = import_string(settings.CHATOPS_NOTIFIER)()
    for event in engine.unannounced(deployment_id):
        if engine.claim_announcement(event):
            notifier.deployment_changed(event)


def check_watch(deployment_id: int) -> None:
    """One minute's look at a deployment being watched after its deploy (AWS is asked outside any transaction)."""
    watch.check(deployment_id)


def sweep() -> None:
    """Every minute: expire stale approvals and decisions, time out stuck runs, restart work whose task was lost,
    and look at each deployment being watched (a task each, so one slow AWS region holds up nothing else)."""
    now = timezone.now()
    engine.expire_approvals(now)
    engine.expire_unstarted(now)
    engine.time_out_stuck(now)
    engine.recover_lost_work(now)
    for deployment_id in watch.watching():
        queue.enqueue(f"{__name__}.check_watch", deployment_id, group="watch")
    notifier = import_string(settings.CHATOPS_NOTIFIER)()
    for lock in engine.end_expired_locks(now):
        notifier.lock_ended(lock)
    notifier.mend(now - MEND_WITHIN)
    for freeze, news, window in engine.freeze_news(now):
        notifier.freeze_changed(freeze, news, window)
