"""Outgoing webhooks to a local receiver: signed, retried with backoff for a day, each attempt made once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from chatops_site.deploys.models import Deployment
from chatops_site.ops.housekeeping import prune
from chatops_site.webhooks import outbox, sending
from chatops_site.webhooks.models import DeliveryState, WebhookDelivery
from tests.webhooks.conftest import Receiver, signed

HAPPY_PATH = ["deploy.queued", "deploy.dispatching", "deploy.running", "deploy.succeeded"]


def delivery(event: str) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


def seconds_until(moment) -> float:
    return (moment - timezone.now()).total_seconds()


def test_deploy_succeeded_reaches_the_receiver_signed_with_the_three_headers(say, receiver, webhook):
    webhook(["deploy"])

    say("alice", "/deploy web-app staging v1")

    assert receiver.events() == HAPPY_PATH
    call = receiver.got()[-1]
    assert signed(call)
    payload = call.json()
    succeeded = delivery("deploy.succeeded")
    assert call.header("X-ChatOps-Event") == payload["event"] == "deploy.succeeded"
    assert call.header("X-ChatOps-Delivery") == payload["id"] == str(succeeded.delivery_id)
    assert call.header("Content-Type") == "application/json"
    assert call.header("User-Agent").startswith("ChatOps-Webhooks/")
    assert payload["schema"] == "chatops.webhook/v1"
    deployment = Deployment.objects.get()
    assert payload["data"] | {"requested_at": None, "started_at": None, "finished_at": None} == {
        "deployment_id": deployment.pk,
        "kind": "deploy",
        "service": "web-app",
        "environment": "staging",
        "version": "v1",
        "commit_sha": None,
        "state": "succeeded",
        "from_state": "running",
        "requested_by": "alice",
        "actor": None,
        "message": "simulated deploy finished",
        "provider": "simulated",
        "run_url": None,
        "requested_at": None,
        "started_at": None,
        "finished_at": None,
    }
    assert payload["data"]["finished_at"] == deployment.finished_at.isoformat()
    assert (succeeded.state, succeeded.attempts, succeeded.last_status) == (DeliveryState.DELIVERED, 1, 200)
    assert succeeded.delivered_at is not None and succeeded.next_attempt_at is None


def test_a_wrong_secret_does_not_verify(say, receiver, webhook):
    webhook(["deploy"])

    say("alice", "/deploy web-app staging v1")

    assert not signed(receiver.got()[-1], secret="another-secret")


def test_a_webhook_of_approvals_hears_no_deploy_and_each_decision(say, receiver, webhook):
    webhook(["deploy"], path="deploys", name="deploys")
    webhook(["approval"], path="approvals", name="approvals")

    say("alice", "/deploy web-app staging v1")
    assert receiver.events("approvals") == []
    say("alice", "/deploy api prod v3")
    approved = Deployment.objects.get(target__service__name="api")
    say("bob", f"/approve {approved.pk}")
    say("alice", "/deploy worker prod v1")
    rejected = Deployment.objects.get(target__service__name="worker")
    say("bob", f"/reject {rejected.pk} not on a Friday")

    assert receiver.events("approvals") == ["approval.approved", "approval.rejected"]
    approval, rejection = (call.json()["data"] for call in receiver.got("approvals"))
    assert (approval["deployment_id"], approval["decision"], approval["actor"]) == (approved.pk, "approved", "bob")
    assert (approval["state"], approval["from_state"], approval["reason"]) == ("queued", "awaiting_approval", "")
    assert (rejection["deployment_id"], rejection["decision"]) == (rejected.pk, "rejected")
    assert rejection["reason"] == "not on a Friday" and rejection["message"] == "rejected by bob: not on a Friday"
    assert "deploy.awaiting_approval" in receiver.events("deploys")
    assert "deploy.rejected" in receiver.events("deploys")
    assert all(signed(call) for call in receiver.calls)


def test_a_receiver_that_fails_then_is_down_gets_each_event_once_when_it_is_back(say, receiver, webhook, sweep):
    webhook(["deploy"])
    receiver.status = 500

    say("alice", "/deploy web-app staging v1")

    succeeded = delivery("deploy.succeeded")
    assert (succeeded.state, succeeded.attempts, succeeded.last_status) == (DeliveryState.PENDING, 1, 500)
    assert succeeded.last_error == 'answered 500: {"received": false}'
    assert 25 < seconds_until(succeeded.next_attempt_at) <= 30

    receiver.stop()  # down: nothing listens there any more
    sweep()

    succeeded.refresh_from_db()
    assert (succeeded.state, succeeded.attempts, succeeded.last_status) == (DeliveryState.PENDING, 2, None)
    assert succeeded.last_error == "no answer (ConnectionError)"
    assert 55 < seconds_until(succeeded.next_attempt_at) <= 60

    with Receiver(port=receiver.port) as back:  # back, at the same address
        sweep()
        sweep()  # a later sweep finds nothing left to send

        assert sorted(back.events()) == sorted(HAPPY_PATH)
        ids = [call.header("X-ChatOps-Delivery") for call in back.calls]
        assert sorted(ids) == sorted(str(d.delivery_id) for d in WebhookDelivery.objects.all())
        assert all(signed(call) for call in back.calls)
    succeeded.refresh_from_db()
    assert (succeeded.state, succeeded.attempts, succeeded.last_status) == (DeliveryState.DELIVERED, 3, 200)
    assert succeeded.next_attempt_at is None


def test_a_day_after_the_event_a_delivery_still_failing_is_failed_with_its_last_error(say, receiver, webhook, sweep):
    webhook(["deploy"])
    receiver.stop()
    say("alice", "/deploy web-app staging v1")
    succeeded = delivery("deploy.succeeded")
    assert succeeded.state == DeliveryState.PENDING and succeeded.last_error == "no answer (ConnectionError)"

    # Half a minute before the day is out, the next attempt is booked at its end, not an hour later.
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(hours=24) + timedelta(seconds=30))
    sweep()
    succeeded.refresh_from_db()
    assert succeeded.next_attempt_at == succeeded.created_at + timedelta(hours=24)

    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(hours=25))
    sweep()

    succeeded.refresh_from_db()
    assert (succeeded.state, succeeded.attempts) == (DeliveryState.FAILED, 3)
    assert succeeded.last_error == "no answer (ConnectionError)" and succeeded.next_attempt_at is None
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {DeliveryState.FAILED}
    sweep()
    succeeded.refresh_from_db()
    assert succeeded.attempts == 3


def test_backoff_doubles_from_thirty_seconds_to_at_most_an_hour():
    waits = [sending.backoff(attempts).total_seconds() for attempts in range(1, 10)]

    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_an_attempt_is_made_by_one_worker_only(receiver, webhook):
    webhook(["deploy"])
    (queued,) = outbox.emit("deploy", "deploy.succeeded", {"deployment_id": 1})
    booked = queued.next_attempt_at

    first = sending.attempt(queued.pk, booked)
    second = sending.attempt(queued.pk, booked)  # the same task delivered twice, or the sweep beside it

    assert first is not None and first.state == DeliveryState.DELIVERED
    assert second is None
    assert len(receiver.calls) == 1


def test_a_rolled_back_transaction_sends_nothing(receiver, webhook, committed):
    webhook(["deploy"])

    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        outbox.emit("deploy", "deploy.succeeded", {"deployment_id": 1})
        raise RuntimeError("the transition failed")

    assert not receiver.calls and not WebhookDelivery.objects.exists()


def test_an_inactive_webhook_gets_nothing_new(say, receiver, webhook):
    hook = webhook(["deploy", "command"])
    hook.active = False
    hook.save()

    say("alice", "/deploy web-app staging v1")

    assert not receiver.calls and not WebhookDelivery.objects.exists()


def test_the_admin_redelivers_the_same_delivery_id(say, receiver, webhook, admin_client, committed):
    webhook(["deploy"])
    say("alice", "/deploy web-app staging v1")
    succeeded = delivery("deploy.succeeded")
    first = receiver.got()[-1]

    with committed():
        response = admin_client.post(
            reverse("admin:webhooks_webhookdelivery_changelist"),
            {"action": "redeliver", "_selected_action": [succeeded.pk]},
            follow=True,
        )

    assert "Queued 1 delivery attempt(s)." in response.content.decode()
    again = receiver.got()[-1]
    assert again is not first and len(receiver.calls) == len(HAPPY_PATH) + 1
    assert again.header("X-ChatOps-Delivery") == first.header("X-ChatOps-Delivery") == str(succeeded.delivery_id)
    assert again.body == first.body and signed(again)
    succeeded.refresh_from_db()
    assert (succeeded.state, succeeded.attempts) == (DeliveryState.DELIVERED, 2)


def test_the_delivery_pages_show_what_was_sent(say, receiver, webhook, admin_client):
    webhook(["deploy"])
    say("alice", "/deploy web-app staging v1")
    succeeded = delivery("deploy.succeeded")

    listing = admin_client.get(reverse("admin:webhooks_webhookdelivery_changelist")).content.decode()
    page = admin_client.get(reverse("admin:webhooks_webhookdelivery_change", args=[succeeded.pk])).content.decode()

    assert "deploy.succeeded" in listing and "delivered" in listing
    assert "Delivery id" in page and str(succeeded.delivery_id) in page
    assert "simulated deploy finished" in page and "Last status" in page


def test_the_sweep_is_scheduled_every_minute_by_a_migration(db):
    schedule = Schedule.objects.get(name="chatops-webhooks")

    assert schedule.func == "chatops_site.webhooks.tasks.sweep"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


def test_housekeeping_forgets_finished_deliveries_after_a_month(receiver, webhook):
    webhook(["deploy"])
    old, waiting, recent = (outbox.emit("deploy", "deploy.succeeded", {"n": n})[0] for n in range(3))
    WebhookDelivery.objects.filter(pk=old.pk).update(
        state=DeliveryState.DELIVERED, created_at=timezone.now() - timedelta(days=31)
    )
    WebhookDelivery.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(days=31))

    assert prune()["outgoing_webhook_deliveries"] == 1
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
