"""The commits of a GitHub repository: the SHA a version names, what it brings, and its CI.

One call per question, so an approval card costs at most three calls to GitHub.
https://docs.github.com/en/rest/commits/commits https://docs.github.com/en/rest/checks/runs
https://docs.github.com/en/rest/commits/statuses
"""

from __future__ import annotations

import difflib
from urllib.parse import quote

from django.conf import settings

from integrations.commits import COMMITS_SHOWN, Changes, Checks, Commit, UnknownRef, pr_named
from integrations.github.api import GitHubError
from integrations.github.auth import call

# GitHub answers 422 ("No commit found for SHA: ...") for a ref it cannot find, 404 for some others.
NO_SUCH_REF = (404, 422)
PASSING = {"success", "neutral", "skipped"}
# Commit statuses say "error" or "failure"; every other check run conclusion is a failure.
FAILING_STATUSES = {"error", "failure"}


def _ref(ref: str) -> str:
    """A ref as a path segment: branch names keep their slashes, as GitHub reads them."""
    return quote(ref, safe="/")


def web_url(repository: str, *parts: str) -> str:
    return "/".join([settings.GITHUB_WEB_URL.rstrip("/"), repository, *parts])


class GitHubCommits:
    def resolve(self, repository: str, ref: str) -> str:
        try:
            return call(repository, "GET", f"/repos/{repository}/commits/{_ref(ref)}").json()["sha"]
        except GitHubError as exc:
            if exc.status not in NO_SUCH_REF:
                raise
            missing = exc
        try:
            names = self._names(repository)
        except GitHubError as unlisted:
            if missing.status == 404 and unlisted.status == 404:
                raise missing from None  # the repository is out of reach (or the App not installed), not the ref
            names = []
        closest = difflib.get_close_matches(ref, names, n=3)
        raise UnknownRef(f"{repository} has no branch, tag or commit {ref!r}", closest, system="github") from missing

    def _names(self, repository: str) -> list[str]:
        """Branch and tag names, to suggest when a version is mistyped."""
        names: list[str] = []
        for kind in ("branches", "tags"):
            listed = call(repository, "GET", f"/repos/{repository}/{kind}", params={"per_page": 100}).json()
            names += [item["name"] for item in listed if item["name"] not in names]
        return names

    def changes(self, repository: str, base: str, head: str) -> Changes:
        # Without paging GitHub lists the newest 250 commits, oldest first; `total_commits` counts them all.
        path = f"/repos/{repository}/compare/{_ref(base)}...{_ref(head)}"
        compared = call(repository, "GET", path).json()
        newest = compared["commits"][::-1][:COMMITS_SHOWN]
        return Changes(
            total=compared["total_commits"],
            commits=[self._commit(listed) for listed in newest],
            compare_url=web_url(repository, "compare", f"{_ref(base)}...{_ref(head)}"),
        )

    @staticmethod
    def _commit(listed: dict) -> Commit:
        title = listed["commit"]["message"].split("\n", 1)[0].strip()
        # `author` is the GitHub account, null when the commit's e-mail belongs to none.
        author = (listed.get("author") or {}).get("login") or listed["commit"]["author"]["name"]
        return Commit(sha=listed["sha"], title=title, author=author, pr=pr_named(title), url=listed["html_url"])

    def checks(self, repository: str, sha: str) -> Checks:
        """Check runs (Actions, GitHub Apps) and commit statuses (older CI) both gate a commit, so both count."""
        runs = call(repository, "GET", f"/repos/{repository}/commits/{_ref(sha)}/check-runs", params={"per_page": 100})
        combined = call(repository, "GET", f"/repos/{repository}/commits/{_ref(sha)}/status").json()
        verdicts = [
            "pending" if run["status"] != "completed" else "passing" if run["conclusion"] in PASSING else "failing"
            for run in runs.json()["check_runs"]
        ]
        verdicts += [
            "passing"
            if status["state"] == "success"
            else "failing"
            if status["state"] in FAILING_STATUSES
            else "pending"
            for status in combined["statuses"]
        ]
        state = next((s for s in ("failing", "pending", "passing") if s in verdicts), "none")
        return Checks(
            state=state,
            passing=verdicts.count("passing"),
            failing=verdicts.count("failing"),
            pending=verdicts.count("pending"),
            url=web_url(repository, "commit", sha),
        )
