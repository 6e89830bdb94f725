"""The notifier: tells chat about deployment transitions.

Each transition goes to every command run that acted on the deployment (the requester, the
approver), through that run's platform, to the target's channel and to the routes for its service's
deploys. One destination failing never keeps the message from the others.
"""

from __future__ import annotations

import logging

from bots import messages
from bots.platforms import get_platform, post_to_channel
from bots.platforms.console import render
from chatops_site.catalog.models import RouteEvent
from chatops_site.catalog.routes import channels_for
from chatops_site.deploys.models import DeploymentEvent

log = logging.getLogger("chatops.notify")


class ChatNotifier:
    def deployment_changed(self, event: DeploymentEvent) -> None:
        reply = messages.transition(event)
        target = event.deployment.target
        log.info("[%s] %s", target, render(reply).replace("\n", " | "))
        # Runs answered after this transition already said it in their own reply.
        for run in event.deployment.command_runs.filter(finished_at__lt=event.created_at):
            self._deliver(f"run {run.pk}", lambda run=run: get_platform(run.platform).send(run, reply))
        channels = [target.channel] if target.channel else []
        channels += channels_for(RouteEvent.DEPLOY, service=target.service, fallback=not channels)
        for channel in dict.fromkeys(channels):
            self._deliver(channel, lambda channel=channel: post_to_channel(channel, reply))

    def _deliver(self, where: str, send) -> None:
        try:
            send()
        except Exception:
            log.exception("could not deliver a deployment notification to %s", where)
