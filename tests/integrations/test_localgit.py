"""Commits read with git from local repositories (integrations/localgit), and the demo's, made by seed_demo."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.core.management import call_command

from chatops_site.deploys.models import Deployment, State
from integrations.commits import Checks, Commit, UnknownRef, source_for
from integrations.http import OutsideError
from integrations.localgit import LocalGit
from tests.gitrepo import Repo, git


@pytest.fixture
def repos(settings, tmp_path):
    """CHATOPS_GIT_REPOSITORIES inside a git checkout of its own, as the demo's `var/repositories` is."""
    root = tmp_path / "checkout" / "var" / "repositories"
    root.mkdir(parents=True)
    git(tmp_path / "checkout", "init", "--quiet")
    settings.CHATOPS_GIT_REPOSITORIES = str(root)
    settings.GITHUB_TOKEN = ""
    return root


@pytest.fixture
def shop(repos):
    """acme/shop: v1.0.0 (lightweight tag), v1.1.0 (annotated), and main two commits ahead of it."""
    repo = Repo(repos / "acme" / "shop")
    repo.commit("Initial commit", "alice")
    repo.commit("Add the cart (#12)", "bob")
    repo.tag("v1.0.0")
    repo.commit("Fix the cart total", "carol")
    repo.commit("Merge pull request #15 from acme/login", "alice")
    repo.tag("v1.1.0", annotated=True)
    git(repo.directory, "branch", "release-1.1")
    repo.commit("Show prices with tax (#17)", "bob")
    repo.commit("Bump the date library", "carol")
    return repo


# resolve


def test_resolve_answers_the_full_sha_of_a_branch_a_tag_and_a_short_sha(shop):
    source = LocalGit()

    assert source.resolve("acme/shop", "main") == shop.shas[-1]
    assert source.resolve("acme/shop", "release-1.1") == shop.shas[3]
    assert source.resolve("acme/shop", "v1.0.0") == shop.shas[1]
    assert source.resolve("acme/shop", "v1.1.0") == shop.shas[3]  # the commit, not the annotated tag object
    assert source.resolve("acme/shop", shop.shas[2][:8]) == shop.shas[2]
    assert source.resolve("acme/shop", "main~2") == shop.shas[3]


def test_an_unknown_ref_names_the_closest_branches_and_tags(shop):
    with pytest.raises(UnknownRef) as unknown:
        LocalGit().resolve("acme/shop", "v1.0.1")

    assert unknown.value.closest == ["v1.0.0", "v1.1.0"]
    assert unknown.value.system == "git" and unknown.value.permanent
    assert str(unknown.value) == "acme/shop has no branch, tag or commit 'v1.0.1'"
    with pytest.raises(UnknownRef) as typo:
        LocalGit().resolve("acme/shop", "mian")
    assert typo.value.closest == ["main"]


def test_a_ref_that_looks_like_an_option_is_an_unknown_ref_not_an_option(shop, tmp_path):
    for ref in ("--output=" + str(tmp_path / "written"), "-h", ""):
        with pytest.raises(UnknownRef):
            LocalGit().resolve("acme/shop", ref)
    assert not (tmp_path / "written").exists()


# changes


def test_changes_count_the_commits_since_the_base_and_list_them_newest_first(shop):
    changes = LocalGit().changes("acme/shop", shop.shas[1], shop.shas[-1])

    assert changes.total == 4
    assert changes.commits == [
        Commit(sha=shop.shas[5], title="Bump the date library", author="Carol Poe"),
        Commit(sha=shop.shas[4], title="Show prices with tax (#17)", author="Bob Roe", pr=17),
        Commit(sha=shop.shas[3], title="Merge pull request #15 from acme/login", author="Alice Doe", pr=15),
        Commit(sha=shop.shas[2], title="Fix the cart total", author="Carol Poe"),
    ]
    assert changes.compare_url == ""  # a local repository has no page to compare on
    assert LocalGit().changes("acme/shop", "v1.1.0", "main").total == 2  # refs work as well as SHAs


def test_changes_list_only_the_newest_few_and_count_them_all(shop, monkeypatch):
    monkeypatch.setattr("integrations.localgit.COMMITS_SHOWN", 2)

    changes = LocalGit().changes("acme/shop", shop.shas[0], shop.shas[-1])

    assert changes.total == 5
    assert [c.sha for c in changes.commits] == [shop.shas[5], shop.shas[4]]


def test_changes_to_an_older_commit_are_none_and_an_unknown_base_is_an_unknown_ref(shop):
    assert LocalGit().changes("acme/shop", shop.shas[-1], shop.shas[1]).total == 0
    with pytest.raises(UnknownRef):
        LocalGit().changes("acme/shop", "0" * 40, shop.shas[-1])
    with pytest.raises(UnknownRef):
        LocalGit().changes("acme/shop", "--all", shop.shas[-1])


def test_a_local_repository_has_no_checks(shop):
    assert LocalGit().checks("acme/shop", shop.shas[-1]) == Checks("none")


# Which repositories it holds


def test_holds_a_working_copy_and_a_bare_mirror_and_nothing_outside_the_directory(shop, repos):
    git(repos, "clone", "--quiet", "--mirror", str(shop.directory), str(repos / "acme" / "mirror.git"))
    (repos / "acme" / "plain").mkdir()  # not a repository (the checkout around it is one)
    source = LocalGit()

    assert source.holds("acme/shop") and source.holds("acme/mirror")
    assert source.resolve("acme/mirror", "v1.0.0") == shop.shas[1]
    for name in ("acme/missing", "acme/plain", "../etc", "acme/..", "/etc/passwd", "acme", "acme/shop/.git", ""):
        assert not source.holds(name), name
    assert not LocalGit("").holds("acme/shop")


def test_source_for_falls_back_to_the_local_repositories_without_github(shop, settings):
    assert isinstance(source_for("acme/shop"), LocalGit)
    assert source_for("acme/missing") is None
    settings.CHATOPS_GIT_REPOSITORIES = ""
    assert source_for("acme/shop") is None


# When git cannot answer


def test_a_broken_repository_is_an_outside_error_that_names_the_repository_not_the_path(repos):
    (repos / "acme" / "broken" / ".git").mkdir(parents=True)

    with pytest.raises(OutsideError) as failed:
        LocalGit().resolve("acme/broken", "main")

    assert not isinstance(failed.value, UnknownRef)  # not read from the checkout around it either
    assert failed.value.system == "git"
    assert str(repos) not in str(failed.value)
    with pytest.raises(OutsideError, match="holds no repository acme/missing"):
        LocalGit().changes("acme/missing", "a", "b")


def test_without_git_the_error_says_so(shop, monkeypatch):
    monkeypatch.setattr("integrations.localgit.shutil.which", lambda name: None)

    with pytest.raises(OutsideError, match="git is not installed") as failed:
        LocalGit().resolve("acme/shop", "main")
    assert failed.value.system == "git"


# The demo's repositories


def test_seed_demo_makes_a_repository_per_service_once_and_pins_its_past_deployments_in_it(db, settings, tmp_path):
    settings.CHATOPS_GIT_REPOSITORIES = str(tmp_path / "repositories")
    settings.GITHUB_TOKEN = ""
    first = StringIO()
    call_command("seed_demo", stdout=first)
    source = LocalGit()
    heads = {name: source.resolve(f"acme/{name}", "main") for name in ("web-app", "api", "worker")}
    assert (tmp_path / "repositories" / "acme" / "web-app.git" / "HEAD").is_file()
    assert "acme/web-app (made)" in first.getvalue()

    again = StringIO()
    call_command("seed_demo", stdout=again)

    assert all(f"acme/{name} (kept)" in again.getvalue() for name in heads)
    assert "Pinned" not in again.getvalue()
    assert {name: source.resolve(f"acme/{name}", "main") for name in heads} == heads
    demo = Deployment.objects.select_related("target__service")
    assert demo.exists() and not demo.filter(commit_sha="").exists()
    for deployment in demo.filter(state=State.SUCCEEDED):
        repository = deployment.target.service.repository
        assert deployment.commit_sha == source.resolve(repository, deployment.version)
    # What runs in prod is a few commits behind main: a /deploy of main there has commits to show.
    prod = demo.filter(target__service__name="web-app", target__environment__name="prod", state=State.SUCCEEDED)
    changes = source.changes("acme/web-app", prod.latest("finished_at").commit_sha, heads["web-app"])
    assert 3 <= changes.total < 15
    assert all(c.author in {"alice", "bob", "carol"} for c in changes.commits)
    assert any(c.pr for c in changes.commits)

    # Made again, the history is the same commit for commit: nothing in it comes from this machine.
    shutil.rmtree(tmp_path / "repositories")
    call_command("seed_demo", stdout=StringIO())
    assert {name: source.resolve(f"acme/{name}", "main") for name in heads} == heads
