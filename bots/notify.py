"""The one door to chat for news that is no command's own answer: deploy transitions, GitHub news, the cost digest.

`notify` asks the catalog's routes who hears an event, posts to each channel and records every delivery
as a `ChannelDelivery`, so a channel that stopped working shows in the admin. One destination failing
never keeps the message from the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from functools import partial

from bots import deployment_messages
from bots.models import ChannelDelivery, CommandRun
from bots.platforms import get_platform, post_to_channel
from bots.types import Reply
from chatops_site.catalog.models import RouteEvent, Service
from chatops_site.catalog.routes import channels_for
from chatops_site.deploys.models import DeploymentEvent

log = logging.getLogger("chatops.notify")


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


def _follow_up(run: CommandRun, reply: Reply) -> None:
    platform = get_platform(run.platform)
    if platform is None:
        raise LookupError(f"run {run.pk} came from {run.platform}, which is not configured here")
    platform.send(run, reply)
