"""The one door to chat for news that is no command's own answer: deploy transitions, GitHub news, the cost digest.

`notify` asks the catalog's routes who hears an event, posts to each channel and records every delivery
as a `ChannelDelivery`, so a channel that stopped working shows in the admin. One destination failing
never keeps the message from the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from functools import partial

from bots import deployment_messages
from bots.models import ChannelDelivery, CommandRun
from bots.platforms import get_platform, post_to_channel
from bots.types import Reply
from chatops_site.catalog.models import DeployTarget, RouteEvent, Service
from chatops_site.catalog.routes import channels_for
from chatops_site.deploys import freezes
from chatops_site.deploys.models import Deployment, DeploymentEvent, Freeze, Lock
from chatops_site.durations import format_moment

log = logging.getLogger("chatops.notify")

# Deployment messages are keyed "deployment:<id>" (`deployment_messages.describe`).
DEPLOYMENT_KEY = "deployment:"


def notify(
    event: str,
    reply: Reply,
    *,
    service: Service | None = None,
    repository: str = "",
    channels: Iterable[str] = (),
    fallback: bool = True,
    skip: Collection[str] = (),
) -> list[ChannelDelivery]:
    """Post `reply` to `channels` and to the channels routed to hear `event` about this service or repository.

    CHATOPS_DEFAULT_CHANNEL hears it when nobody else does, unless `fallback` is off; channels in `skip`
    already heard it some other way. Returns every delivery, the failed ones too, in order.
    """
    channels = list(channels)
    routed = channels_for(event, repository=repository, service=service, fallback=fallback and not channels)
    return [
        deliver(event, reply, partial(post_to_channel, channel, reply), channel=channel)
        for channel in dict.fromkeys([*channels, *routed])
        if channel not in skip
    ]


def deliver(
    event: str, reply: Reply, send: Callable[[], None], *, channel: str = "", run: CommandRun | None = None
) -> ChannelDelivery:
    """Send, and record whether it arrived; a failure is logged and recorded, never raised."""
    delivery = ChannelDelivery(
        event=event, channel=channel, run=run, key=reply.key[:100], summary=reply.text.partition("\n")[0][:200]
    )
    try:
        send()
    except Exception as exc:
        log.exception("could not deliver %s news to %s", event, channel or f"run {delivery.run_id}")
        delivery.ok, delivery.error = False, f"{exc.__class__.__name__}: {exc}"
    else:
        delivery.ok = True
    delivery.save()
    return delivery


class ChatNotifier:
    """Deployment transitions (CHATOPS_NOTIFIER): to the people who acted on it, its target's channel, its routes."""

    def deployment_changed(self, event: DeploymentEvent) -> None:
        """Each command run that acted on the deployment (the requester, the approver) hears it through its own
        platform; so do the target's channel and the routes for its service's deploys."""
        reply = deployment_messages.transition(event)
        target = event.deployment.target
        log.info("[%s] %s", target, reply.plain().replace("\n", " | "))
        # Runs answered after this transition already said it in their own reply.
        for run in event.deployment.command_runs.filter(finished_at__lt=event.created_at):
            deliver(RouteEvent.DEPLOY, reply, partial(_follow_up, run, reply), run=run)
        notify(RouteEvent.DEPLOY, reply, service=target.service, channels=[target.channel] if target.channel else [])

    def mend(self, since: datetime) -> int:
        """Post again the state of each deployment whose last message to a channel failed since `since`.

        A transition is announced once; if Slack or Discord failed that post (a 5xx, a rate limit past the
        door's tries), the channel's message would keep an old state. The sweep calls this each minute: the
        post is a full edit of the keyed message, so sending it again (or twice, from two workers) is harmless.
        """
        failed = ChannelDelivery.objects.filter(
            ok=False, run=None, created_at__gte=since, key__startswith=DEPLOYMENT_KEY
        ).exclude(channel="")
        mended = 0
        for channel, key in failed.values_list("channel", "key").distinct():
            last = ChannelDelivery.objects.filter(channel=channel, key=key, run=None).order_by("-created_at", "-id")
            if last.values_list("ok", flat=True).first():
                continue  # a later post got through
            deployment = Deployment.objects.filter(pk=key.removeprefix(DEPLOYMENT_KEY)).first()
            if deployment is None:
                continue
            reply = deployment_messages.describe(deployment)
            log.info("posting %s to %s again: its last post failed", key, channel)
            deliver(RouteEvent.DEPLOY, reply, partial(post_to_channel, channel, reply), channel=channel)
            mended += 1
        return mended

    def lock_ended(self, lock: Lock) -> None:
        """A lock with an end ran out: its target's channel and deploy routes hear it ended by itself."""
        target = lock.target
        reason = f" ({lock.reason})" if lock.reason else ""
        assert lock.until is not None  # only locks with an end run out
        reply = Reply(
            f"🔓 {target} is unlocked: {lock.locked_by.get_username()}'s lock{reason} ended by itself at "
            f"{format_moment(lock.until)}; queued deploys start now.",
            public=True,
        )
        notify(RouteEvent.DEPLOY, reply, service=target.service, channels=[target.channel] if target.channel else [])

    def freeze_changed(self, freeze: Freeze, news: str, window: freezes.Window) -> None:
        """A freeze window started or ended: every target it holds hears it in its channel."""
        if news == "started":
            text = f"🧊 Freeze '{freeze.name}' is on until {freezes.when(freeze, window[1])}"
            text += f": {freeze.reason}" if freeze.reason else ""
        else:
            text = f"🌤 Freeze '{freeze.name}' has ended; deploys are open again"
        targets = DeployTarget.objects.filter(environment__freezes=freeze).select_related("service", "environment")
        held = [t for t in targets if freezes.applies(freeze, t)]
        reply = Reply(text + " (" + ", ".join(str(t) for t in held) + ").", public=True)
        notify(RouteEvent.DEPLOY, reply, channels=[t.channel for t in held if t.channel])


def _follow_up(run: CommandRun, reply: Reply) -> None:
    platform = get_platform(run.platform)
    if platform is None:
        raise LookupError(f"run {run.pk} came from {run.platform}, which is not configured here")
    platform.send(run, reply)
