"""What a deployment ships: the commit its version pointed to when it was asked for, and what that brings.

The engine pins a deployment of a service with a `repository` before anyone may approve or start it, so
that an approval approves one commit and nothing pushed afterwards rides along. Looking the commit up
is a call to GitHub (or a local mirror), so it happens in a task; this module does the looking and
leaves every write to `engine`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys.models import Deployment, Kind, State
from integrations.commits import CommitSource, UnknownRef, as_json, source_for
from integrations.http import OutsideError

# A version that is itself a commit (abbreviated or not) cannot move.
A_SHA = re.compile(r"[0-9a-f]{7,40}")


@dataclass(frozen=True)
class Pin:
    """A lookup's outcome: the commit and what it brings, or why the deployment cannot be pinned."""

    sha: str = ""
    changes: dict | None = None
    refusal: str = ""


def needs_pin(repository: str) -> bool:
    return source_for(repository) is not None


def shipped_sha(deployment: Deployment | None) -> str:
    """The commit a deployment shipped (blank when unknown): for the one running on a target, where the next
    deployment's commits to ship start."""
    if deployment is None:
        return ""
    return deployment.commit_sha or str(deployment.provider_data.get("head_sha") or "")


def earlier_sha(target: DeployTarget, version: str) -> str:
    """For a rollback: the commit its version shipped last time it succeeded there, not where a tag points now."""
    succeeded = target.deployments.filter(state=State.SUCCEEDED, version=version)
    last = succeeded.exclude(commit_sha="").order_by("-finished_at", "-id").first()
    return last.commit_sha if last else ""


def look_up(deployment: Deployment) -> Pin:
    """Resolve the deployment's version and fetch its commits and CI; a lookup that fails refuses the pin."""
    repository = deployment.target.service.repository
    source = source_for(repository)
    if source is None:
        return Pin()
    try:
        sha = deployment.commit_sha or source.resolve(repository, deployment.version)
    except UnknownRef as exc:
        closest = f" (did you mean {', '.join(exc.closest)}?)" if exc.closest else ""
        return Pin(refusal=f"{exc}{closest}")
    except OutsideError as exc:
        return Pin(refusal=f"could not look up {deployment.version} in {repository}, so nothing was pinned: {exc}")
    return Pin(sha=sha, changes=_changes(source, repository, deployment, sha))


def _changes(source: CommitSource, repository: str, deployment: Deployment, sha: str) -> dict:
    """The card's commits and CI; a source that cannot tell says why, and that never blocks the deploy."""
    base = deployment.base_sha
    found: dict = {}
    try:
        if not base:
            found["first"] = True
        elif deployment.kind == Kind.ROLLBACK:  # a rollback undoes what ran since
            found.update(as_json(source.changes(repository, sha, base)), undoes=True)
        else:
            found.update(as_json(source.changes(repository, base, sha)))
    except OutsideError as exc:
        found["error"] = str(exc)
    try:
        found["checks"] = as_json(source.checks(repository, sha))
    except OutsideError as exc:
        found["checks"] = {"state": "unknown", "error": str(exc)}
    return found


def moved(repository: str, version: str, sha: str) -> str:
    """Where `version` points now, when it has moved on from the pinned `sha`; blank otherwise or unknown."""
    if not sha or (A_SHA.fullmatch(version.lower()) and sha.lower().startswith(version.lower())):
        return ""
    source = source_for(repository)
    if source is None:
        return ""
    try:
        now = source.resolve(repository, version)
    except OutsideError:
        return ""
    return now if now != sha else ""
