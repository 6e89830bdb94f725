"""Where the commits of a service come from: resolving a version to the SHA that ships, and what it brings.

The deploy engine pins every deployment of a service with a `repository` to one commit when it is
requested, and shows the commits new since what runs on the target, with the commit's CI state. A
source answers those three questions; GitHub answers them for real repositories (when credentials are
set), a local git repository for the demo and for teams that mirror theirs (`CHATOPS_GIT_REPOSITORIES`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from integrations.http import OutsideError

# How many commits a card lists; the count says how many there are in all.
COMMITS_SHOWN = 10


class UnknownRef(OutsideError):
    """The source does not know the version; `closest` names branches or tags that look like it."""

    def __init__(self, message: str, closest: list[str] | None = None, *, system: str = "") -> None:
        super().__init__(message, system=system, status=404, permanent=True)
        self.closest = closest or []


@dataclass(frozen=True)
class Commit:
    sha: str
    title: str  # the first line of the message
    author: str
    pr: int | None = None  # the pull request the message names ("... (#123)"), if any
    url: str = ""


@dataclass(frozen=True)
class Changes:
    """The commits from `base` (exclusive) to `head`: `total` of them, the newest `COMMITS_SHOWN` listed."""

    total: int
    commits: list[Commit] = field(default_factory=list)  # newest first
    compare_url: str = ""


@dataclass(frozen=True)
class Checks:
    """A commit's CI: check runs and commit statuses together."""

    state: str  # "passing", "failing", "pending", or "none" when nothing reports on the commit
    passing: int = 0
    failing: int = 0
    pending: int = 0
    url: str = ""  # where to read them


class CommitSource(Protocol):
    def resolve(self, repository: str, ref: str) -> str:
        """The full SHA `ref` (a branch, tag or SHA) points to now; UnknownRef when there is none."""
        ...

    def changes(self, repository: str, base: str, head: str) -> Changes:
        """What `head` brings since `base`; `base` is an ancestor in the usual case, not always."""
        ...

    def checks(self, repository: str, sha: str) -> Checks: ...


def source_for(repository: str) -> CommitSource | None:
    """GitHub when credentials are set; else the local mirror when it holds the repository; else none."""
    if not repository:
        return None
    from integrations.github.auth import app_configured

    if app_configured() or settings.GITHUB_TOKEN:
        return import_string("integrations.github.commits.GitHubCommits")()
    if not settings.CHATOPS_GIT_REPOSITORIES:
        return None
    local = import_string("integrations.localgit.LocalGit")()
    return local if local.holds(repository) else None


# "Fix the login (#123)" or "Merge pull request #123 from ...": the pull request a commit came from.
PR_NAMED = re.compile(r"(?:\(#(\d+)\)\s*$|^Merge pull request #(\d+)\b)")


def pr_named(title: str) -> int | None:
    found = PR_NAMED.search(title)
    return int(found.group(1) or found.group(2)) if found else None


def as_json(value: Changes | Checks) -> dict:
    return asdict(value)
