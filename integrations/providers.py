"""The one small interface every deploy provider speaks, and the registry that finds them.

A provider starts a run (`dispatch`) and reports on it (`check`); the deploy engine owns all state
and decides what happens next. Providers never touch the database: the engine hands them an `Order`
with everything they need, and keeps what they return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.module_loading import import_string

from integrations.http import OutsideError

# Provider name (as stored on DeployTarget.provider) -> class path.
PROVIDERS = {
    "simulated": "integrations.simulated.SimulatedProvider",
    "github_actions": "integrations.github.provider.GitHubActionsProvider",
    "jenkins": "integrations.jenkins.provider.JenkinsProvider",
    "argocd": "integrations.argocd.provider.ArgoCDProvider",
}


class ProviderError(OutsideError):
    """A provider call failed. Permanent errors fail the deployment; others are retried."""

    def __init__(
        self,
        message: str,
        permanent: bool = False,
        *,
        system: str = "",
        status: int = 0,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, system=system, status=status, permanent=permanent, retry_after=retry_after)


@dataclass(frozen=True)
class Order:
    """One deployment as a provider sees it, read by the deploy engine."""

    deployment_id: int
    provider: str  # which provider runs it (`DeployTarget.provider`)
    kind: str  # "deploy" or "rollback"
    version: str
    # The commit the deployment was pinned to when it was requested: what ships, whatever `version` points
    # to by now. Blank when the service has no repository to pin in.
    commit_sha: str
    service: str
    environment: str
    target: str  # "web-app/prod", for messages
    repository: str  # the service's `owner/name`, or blank
    settings: dict  # the target's provider settings
    started_at: datetime
    attempt: int = 1  # which dispatch attempt this is
    run_id: str = ""
    data: dict = field(default_factory=dict)  # what the provider returned before (Run.data, RunStatus.data)
    # For a rollback: what the provider recorded when this version succeeded on the target before.
    earlier: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Run:
    """What a provider says after starting a run."""

    run_id: str
    url: str = ""
    check_in: float = 5.0  # seconds until the first status check is worth making
    data: dict = field(default_factory=dict)  # kept in Deployment.provider_data for later checks


@dataclass(frozen=True)
class RunStatus:
    """What a provider says when asked about a run."""

    state: str  # "running", "succeeded" or "failed"
    detail: str = ""
    url: str = ""
    artifact: str = ""
    check_in: float = 5.0
    data: dict = field(default_factory=dict)  # merged into Deployment.provider_data
    run_id: str = ""  # the run's id when it was found only after dispatch (GitHub run correlation)

    @property
    def done(self) -> bool:
        return self.state in {"succeeded", "failed"}


class DeployProvider:
    """Base class: subclasses implement both methods for one outside system."""

    def dispatch(self, order: Order) -> Run:
        """Start the run. From the second attempt on, an earlier attempt may have reached the system before
        its answer (or its worker) was lost: the run it started is adopted, never doubled."""
        raise NotImplementedError

    def check(self, order: Order) -> RunStatus:
        raise NotImplementedError


def get_provider(name: str) -> DeployProvider:
    try:
        path = PROVIDERS[name]
    except KeyError:
        raise ProviderError(f"the {name} provider is not available in this installation", permanent=True) from None
    return import_string(path)()
