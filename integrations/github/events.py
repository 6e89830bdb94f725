"""Handling of stored GitHub deliveries, in a queue worker: one handler per event, the rest ignored.

Each handler answers with what it did (or why it did nothing), which is kept on the delivery row.
Pull requests and reviews go to the channels routed for their repository; `workflow_run` finishes
the deployment its run belongs to, through the deploy engine; `deployment_status` reports deploys
made through GitHub Deployments by something other than ChatOps. `deployment_protection_rule` asks us
whether a job may deploy (see `protection`); the run's end finishes what it recorded.
"""

from __future__ import annotations

import logging

from django.db.models import Q
from django.utils import timezone

from bots.notify import notify
from bots.types import Reply
from chatops_site import queue
from chatops_site.catalog.models import RouteEvent
from chatops_site.deploys import engine
from integrations.github import news, protection, runs
from integrations.github.models import LEASE, DeliveryOutcome, WebhookDelivery, lost

log = logging.getLogger("chatops.github")

PULL_REQUEST_ACTIONS = {"opened", "reopened", "ready_for_review", "review_requested", "closed"}
DEPLOYMENT_STATUS_FINAL = {"success", "failure", "error"}

Result = tuple[str, str]  # (DeliveryOutcome, note)


def handled(note: str) -> Result:
    return DeliveryOutcome.HANDLED, note


def ignored(note: str) -> Result:
    return DeliveryOutcome.IGNORED, note


def announce(event: str, repository: str, reply: Reply) -> Result:
    deliveries = notify(event, reply, repository=repository)
    if not deliveries:
        return ignored(f"no channel hears {event} of {repository}")
    return handled("told " + ", ".join(delivery.channel for delivery in deliveries))


def pull_request(payload: dict) -> Result:
    action, pr = payload.get("action"), payload["pull_request"]
    if action not in PULL_REQUEST_ACTIONS:
        return ignored(f"pull_request {action} is not announced")
    if pr.get("draft") and action != "ready_for_review":
        return ignored("drafts stay quiet until they are ready for review")
    happened = ("merged" if pr.get("merged") else "closed") if action == "closed" else action
    repository = payload["repository"]["full_name"]
    return announce(RouteEvent.PULL_REQUEST, repository, news.pull_request(payload, happened))


def pull_request_review(payload: dict) -> Result:
    state = (payload["review"].get("state") or "").lower()
    if payload.get("action") != "submitted" or state not in news.REVIEW_VERBS:
        return ignored(f"review {payload.get('action')} ({state}) is not announced")
    return announce(RouteEvent.PULL_REQUEST_REVIEW, payload["repository"]["full_name"], news.review(payload))


def workflow_run(payload: dict) -> Result:
    run = payload["workflow_run"]
    if payload.get("action") == "completed":
        finished = protection.run_completed(payload["repository"]["full_name"], run)
        if finished:
            return handled(", ".join(finished))
    order = runs.order_for(payload["repository"]["full_name"], run, engine.running_orders("github_actions"))
    if order is None:
        return ignored(f"run {run['id']} is not a running ChatOps deployment")
    if payload.get("action") != "completed" and order.run_id:
        return ignored(f"#{order.deployment_id} already follows run {run['id']}")
    status = runs.status_of(order, run)
    if engine.record_status(order.deployment_id, status) is None:
        return ignored(f"#{order.deployment_id} ended before this delivery was handled")
    return handled(f"#{order.deployment_id}: {status.state}")


def deployment_status(payload: dict) -> Result:
    ours = protection.deployment_status(payload)
    if ours is not None:
        return ours
    state = payload["deployment_status"].get("state")
    if state not in DEPLOYMENT_STATUS_FINAL:
        return ignored(f"deployment status {state} is not final")
    run_id = (payload.get("workflow_run") or {}).get("id")
    if run_id and engine.follows_run("github_actions", str(run_id)):
        return ignored("ChatOps reports this deploy itself")
    return announce(RouteEvent.DEPLOY, payload["repository"]["full_name"], news.deployment_status(payload))


HANDLERS = {
    "pull_request": pull_request,
    "pull_request_review": pull_request_review,
    "workflow_run": workflow_run,
    "deployment_status": deployment_status,
    "deployment_protection_rule": protection.requested,
}


def handle(delivery_id: int) -> None:
    """Task: handle one stored delivery. A second copy of the task finds it claimed and does nothing;
    a claim whose lease ran out is taken over."""
    now = timezone.now()
    takeable = Q(outcome=DeliveryOutcome.RECEIVED) | Q(outcome=DeliveryOutcome.HANDLING, claimed_at__lt=now - LEASE)
    claimed = WebhookDelivery.objects.filter(takeable, pk=delivery_id).update(
        outcome=DeliveryOutcome.HANDLING, claimed_at=now
    )
    if not claimed:
        return
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    handler = HANDLERS.get(delivery.event)
    try:
        outcome, note = handler(delivery.payload) if handler else ignored(f"{delivery.event} events are not used")
    except Exception as exc:
        log.exception("GitHub delivery %s (%s) could not be handled", delivery.delivery_id, delivery.event)
        outcome, note = DeliveryOutcome.FAILED, f"{exc.__class__.__name__}: {exc}"
    delivery.outcome, delivery.note, delivery.handled_at = outcome, note, timezone.now()
    delivery.save(update_fields=["outcome", "note", "handled_at"])


def recover() -> int:
    """Scheduled: queue again the deliveries whose handling was lost with a worker or a queue."""
    pks = list(WebhookDelivery.objects.filter(lost()).values_list("pk", flat=True)[:500])
    for pk in pks:
        queue.enqueue("integrations.github.events.handle", pk, group="github")
    if pks:
        log.warning("taking up %s GitHub deliveries whose handling was lost", len(pks))
    return len(pks)
