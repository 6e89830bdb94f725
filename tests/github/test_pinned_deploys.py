"""What is approved is what ships: a deploy is pinned to a commit when it is asked for, and the card shows
the commits since what runs on the target and their CI, from the GitHub stub with a real client."""

from __future__ import annotations

import pytest
from django.utils import timezone

from bots.models import CommandRun, ConsoleMessage
from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys.models import Deployment, State
from tests.stubs import Answer

REPO = "acme/web-app"


@pytest.fixture
def prod(catalog, github, alice):
    """web-app/prod deploys through deploy.yml; what runs there is main's head before the tests push."""
    target = DeployTarget.objects.get(service__name="web-app", environment__name="prod")
    target.provider = "github_actions"
    target.settings = {"workflow": "deploy.yml", "ref": "main"}
    target.save()
    running = github.head(REPO)
    Deployment.objects.create(
        target=target, version="main", commit_sha=running, state=State.SUCCEEDED, requested_by=alice,
        finished_at=timezone.now(),
    )  # fmt: skip
    return target


def follow_ups(reply) -> list[str]:
    return list(ConsoleMessage.objects.filter(run_id=reply.run_id).values_list("text", flat=True))


def test_a_deploy_is_pinned_and_its_card_lists_the_commits_since_prod_and_their_ci(github, prod, say):
    base = github.head(REPO)
    github.push(REPO, message="Fix the login redirect (#42)", author="carol")
    head = github.push(REPO, message="Count logins", author="dave")
    github.add_check_run(REPO, head, conclusion="success", name="tests")
    github.add_status(REPO, head, state="success", context="ci/lint")

    reply = say("alice", "/deploy web-app prod main")

    assert "is waiting for its commit" in reply.text  # the answer never waits on GitHub
    deployment = Deployment.objects.get(state=State.AWAITING_APPROVAL)
    assert (deployment.commit_sha, deployment.base_sha, deployment.pinning) == (head, base, False)
    (card,) = follow_ups(reply)
    assert card.splitlines()[0] == (
        f"⏸ Deploy #{deployment.pk} of web-app main ({head[:7]}) to prod is waiting for approval"
    )
    assert f"2 new commits since {base[:7]}" in card
    assert f"{head[:7]} Count logins — dave" in card
    assert "Fix the login redirect (#42) — carol" in card
    assert "✅ passing (2 passing)" in card
    assert f"/compare/{base}...{head}" in card


def test_failing_ci_is_in_the_first_line_with_the_counts(github, prod, say):
    head = github.push(REPO, message="Risky change", author="carol")
    github.add_check_run(REPO, head, conclusion="failure", name="tests")
    github.add_check_run(REPO, head, conclusion="success", name="build")
    github.add_check_run(REPO, head, status="in_progress", conclusion=None, name="e2e")

    reply = say("alice", "/deploy web-app prod main")

    (card,) = follow_ups(reply)
    assert card.splitlines()[0].endswith(f"· ❌ CI is failing on {head[:7]}")
    assert "❌ failing (1 failing, 1 pending, 1 passing)" in card


def test_approve_then_a_push_then_the_run_ships_the_approved_sha_and_says_main_moved(github, prod, say, bob):
    approved = github.push(REPO, message="Ship it", author="carol")
    say("alice", "/deploy web-app prod main")
    deployment = Deployment.objects.get(state=State.AWAITING_APPROVAL)
    later = github.push(REPO, message="Not reviewed", author="mallory")

    answer = say("bob", f"/approve {deployment.pk} {approved[:7]}")

    assert "approved by bob" in answer.text
    [dispatch] = github.calls_to(r"/repos/acme/web-app/actions/workflows/deploy\.yml/dispatches")
    assert dispatch.json()["inputs"]["sha"] == approved
    assert dispatch.json()["ref"] == "main"
    deployment.refresh_from_db()
    assert deployment.commit_sha == approved
    moved = f"main has moved on to {later[:7]} since it was pinned; {approved[:7]} ships, as requested and approved"
    assert moved in deployment.events.get(to_state=State.RUNNING).message
    said = "\n".join(ConsoleMessage.objects.values_list("text", flat=True))
    assert moved in said


def test_approving_another_commit_than_the_pinned_one_is_refused(github, prod, say, bob):
    say("alice", "/deploy web-app prod main")
    deployment = Deployment.objects.get(state=State.AWAITING_APPROVAL)

    answer = say("bob", f"/approve {deployment.pk} deadbee")

    assert answer.text == (
        f"#{deployment.pk} ships {deployment.short_sha}, not deadbee: look at it again before approving."
    )
    deployment.refresh_from_db()
    assert deployment.state == State.AWAITING_APPROVAL
    assert CommandRun.objects.get(command="approve").outcome == "refused"


def test_an_unknown_ref_is_refused_with_the_closest_names_and_nothing_runs(github, prod, say):
    reply = say("alice", "/deploy web-app prod mian")

    deployment = Deployment.objects.get(version="mian")
    assert deployment.state == State.REJECTED and deployment.commit_sha == ""
    (card,) = follow_ups(reply)
    assert "rejected" in card.splitlines()[0] and "mian" in card and "did you mean main?" in card
    assert github.calls_to(r".*/dispatches") == []


def test_a_github_error_on_the_compare_says_commits_unknown_and_does_not_block(github, prod, say, monkeypatch):
    monkeypatch.setattr("integrations.http.sleep", lambda seconds: None)
    github.route("GET", r"/repos/acme/web-app/compare/.*", lambda call: Answer(502, "Bad Gateway"))

    reply = say("alice", "/deploy web-app prod main")

    deployment = Deployment.objects.get(state=State.AWAITING_APPROVAL)
    assert deployment.commit_sha == github.head(REPO)
    (card,) = follow_ups(reply)
    assert "Changes: commits unknown: GitHub" in card and "502" in card
    assert card.splitlines()[0].endswith("is waiting for approval")
