"""GitHubCommits against the stub's git history: pinning a version to a SHA, what it brings, and its CI."""

from __future__ import annotations

import pytest

from integrations.commits import COMMITS_SHOWN, UnknownRef
from integrations.github import auth
from integrations.github.api import GitHubError
from integrations.github.commits import GitHubCommits
from tests.stubs import Answer
from tests.stubs.github_api import COMPARE

REPO = "acme/web-app"
commits = GitHubCommits()

pytestmark = pytest.mark.django_db


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The door's waits between attempts, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr("integrations.http.sleep", waited.append)
    return waited


# Resolving a version


def test_a_branch_a_tag_and_a_short_sha_resolve_to_the_full_sha(github):
    main, tagged = github.head(REPO), github.history(REPO).tags["v1.0"]

    assert commits.resolve(REPO, "main") == main
    assert commits.resolve(REPO, "v1.0") == tagged != main
    assert commits.resolve(REPO, main[:7]) == main
    assert commits.resolve(REPO, main) == main


def test_a_branch_resolves_to_its_head_as_it_is_now(github):
    before = commits.resolve(REPO, "main")
    pushed = github.push(REPO, message="Ship the new checkout")
    github.push(REPO, "feature/login", message="Try a new login")

    assert commits.resolve(REPO, "main") == pushed != before
    assert commits.resolve(REPO, "feature/login") == github.head(REPO, "feature/login")


@pytest.mark.parametrize(("ref", "closest"), [("mian", ["main"]), ("v1.1", ["v1.0"]), ("8f3e2a1c", [])])
def test_an_unknown_ref_is_named_with_the_branches_and_tags_that_look_like_it(github, ref, closest):
    with pytest.raises(UnknownRef) as unknown:
        commits.resolve(REPO, ref)

    assert repr(ref) in str(unknown.value)
    assert REPO in str(unknown.value)
    assert unknown.value.closest == closest
    assert unknown.value.permanent


def test_an_unknown_ref_is_still_unknown_when_branches_cannot_be_listed(github, waits):
    github.route("GET", r".*/branches", lambda call: Answer(502, "Bad Gateway"))

    with pytest.raises(UnknownRef) as unknown:
        commits.resolve(REPO, "mian")

    assert unknown.value.closest == []


def test_a_repository_the_app_is_not_installed_on_is_not_an_unknown_ref(github):
    with pytest.raises(GitHubError) as failed:
        commits.resolve("acme/elsewhere", "main")

    assert not isinstance(failed.value, UnknownRef)
    assert "not installed on acme/elsewhere" in str(failed.value)


# What a version brings


def test_changes_list_the_new_commits_newest_first_with_their_pull_requests(github, settings):
    settings.GITHUB_WEB_URL = "https://github.example.com"
    github.push(REPO, message="Fix login (#42)", author="carol")
    github.push(REPO, message="Bump the cache size\n\nIt ran out on Mondays.", author="dave")

    changes = commits.changes(REPO, "v1.0", "main")

    assert changes.total == 3
    assert [c.title for c in changes.commits] == [
        "Bump the cache size",
        "Fix login (#42)",
        "Fix the login redirect (#3)",
    ]
    assert [c.pr for c in changes.commits] == [None, 42, 3]
    assert [c.author for c in changes.commits] == ["dave", "carol", "alice"]
    newest = changes.commits[0]
    assert newest.sha == github.head(REPO)
    assert newest.url == f"https://github.com/{REPO}/commit/{newest.sha}"
    assert changes.compare_url == f"https://github.example.com/{REPO}/compare/v1.0...main"


def test_many_changes_show_the_newest_and_count_them_all(github):
    base = github.head(REPO)
    for n in range(1, 13):
        github.push(REPO, message=f"Change {n}")

    changes = commits.changes(REPO, base, "main")

    assert changes.total == 12
    assert len(changes.commits) == COMMITS_SHOWN
    assert [c.title for c in changes.commits] == [f"Change {n}" for n in range(12, 12 - COMMITS_SHOWN, -1)]


def test_an_author_without_a_github_account_is_named_as_the_commit_names_them(github):
    base = github.head(REPO)
    github.push(REPO, message="Nightly dependency update", author="Release Robot", account=False)

    [commit] = commits.changes(REPO, base, "main").commits

    assert commit.author == "Release Robot"


@pytest.mark.parametrize(("base", "head"), [("main", "main"), ("main", "v1.0")])
def test_nothing_new_when_head_is_base_or_behind_it(github, base, head):
    changes = commits.changes(REPO, base, head)

    assert changes.total == 0
    assert changes.commits == []


def test_a_failing_compare_is_a_github_error_after_the_retries(github, waits):
    github.route("GET", COMPARE, lambda call: Answer(500, {"message": "Server Error"}))

    with pytest.raises(GitHubError) as failed:
        commits.changes(REPO, "v1.0", "main")

    assert failed.value.status == 500
    assert not failed.value.permanent
    assert len(github.calls_to(COMPARE)) == 3
    assert waits == [0.5, 1.0]


# A commit's CI


def test_checks_that_all_pass(github):
    sha = github.head(REPO)
    github.add_check_run(REPO, sha, name="test")
    github.add_check_run(REPO, sha, conclusion="skipped", name="deploy-preview")
    github.add_status(REPO, sha, "success")

    checks = commits.checks(REPO, sha)

    assert (checks.state, checks.passing, checks.failing, checks.pending) == ("passing", 3, 0, 0)
    assert checks.url == f"https://github.com/{REPO}/commit/{sha}"


def test_one_failing_check_among_passing_ones_fails_the_commit(github):
    sha = github.head(REPO)
    github.add_check_run(REPO, sha, name="lint")
    github.add_check_run(REPO, sha, conclusion="timed_out", name="test")
    github.add_check_run(REPO, sha, status="in_progress", name="e2e")

    checks = commits.checks(REPO, sha)

    assert (checks.state, checks.passing, checks.failing, checks.pending) == ("failing", 1, 1, 1)


def test_checks_still_running_leave_the_commit_pending(github):
    sha = github.head(REPO)
    github.add_check_run(REPO, sha, name="lint")
    github.add_check_run(REPO, sha, status="queued", name="test")
    github.add_status(REPO, sha, "pending")

    checks = commits.checks(REPO, sha)

    assert (checks.state, checks.passing, checks.failing, checks.pending) == ("pending", 1, 0, 2)


def test_a_rerun_that_passes_replaces_the_failure(github):
    sha = github.head(REPO)
    github.add_check_run(REPO, sha, conclusion="failure", name="test")
    github.add_check_run(REPO, sha, conclusion="success", name="test")

    assert commits.checks(REPO, sha).state == "passing"


@pytest.mark.parametrize("state", ["failure", "error"])
def test_a_failed_commit_status_fails_the_commit(github, state):
    sha = github.head(REPO)
    github.add_check_run(REPO, sha, name="test")
    github.add_status(REPO, sha, state, context="ci/jenkins")

    checks = commits.checks(REPO, sha)

    assert (checks.state, checks.passing, checks.failing) == ("failing", 1, 1)


def test_a_commit_nothing_reports_on_has_no_checks(github):
    checks = commits.checks(REPO, github.head(REPO))

    assert (checks.state, checks.passing, checks.failing, checks.pending) == ("none", 0, 0, 0)


# The stub's dispatched runs check out a commit


def test_a_dispatched_run_reports_the_commit_it_was_given_else_its_branch_head(github):
    pinned = github.history(REPO).tags["v1.0"]
    path = f"/repos/{REPO}/actions/workflows/deploy.yml/dispatches"
    inputs = {"service": "web-app", "environment": "staging", "version": "v1.0", "deployment_id": "7"}

    auth.call(REPO, "POST", path, json={"ref": "main", "inputs": {**inputs, "sha": pinned}})
    auth.call(REPO, "POST", path, json={"ref": "main", "inputs": inputs})

    assert [run["head_sha"] for run in github.runs.values()] == [pinned, github.head(REPO)]
