"""A provider that deploys nothing, for a first look and for tests: it finishes after a delay.

The delay comes from the target's settings (`{"delay": "5s"}`) or CHATOPS_SIMULATED_DELAY; a version
containing `fail` fails, so both endings can be tried from chat. A deployment pinned to a commit "ships"
an image tagged with its short SHA, as a build per commit would, and says which commit it deployed.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from chatops_site.durations import parse_duration
from integrations.providers import DeployProvider, Order, Run, RunStatus


class SimulatedProvider(DeployProvider):
    def _delay(self, order: Order) -> float:
        configured = order.settings.get("delay")
        if configured is None:
            return settings.CHATOPS_SIMULATED_DELAY
        return parse_duration(configured).total_seconds()

    def dispatch(self, order: Order) -> Run:
        return Run(run_id=f"sim-{order.deployment_id}", check_in=self._delay(order))

    def check(self, order: Order) -> RunStatus:
        delay = self._delay(order)
        elapsed = (timezone.now() - order.started_at).total_seconds()
        if elapsed < delay:
            return RunStatus("running", check_in=delay - elapsed)
        if "fail" in order.version:
            return RunStatus("failed", detail=f"simulated failure of version {order.version}")
        if order.commit_sha:
            short = order.commit_sha[:7]
            artifact = f"registry.local/{order.service}:{short}"
            return RunStatus("succeeded", detail=f"simulated deploy of {short} finished", artifact=artifact)
        artifact = f"registry.local/{order.service}:{order.version}"
        return RunStatus("succeeded", detail="simulated deploy finished", artifact=artifact)
