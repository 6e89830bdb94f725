"""Pull request, review and GitHub Deployment news: what the message says and which channels hear it."""

from __future__ import annotations

import copy

import pytest

from chatops_site.catalog.models import ChannelRoute, Service
from integrations.github.models import DeliveryOutcome, WebhookDelivery
from tests.github.conftest import fixture, said


def pull_request(action: str = "opened", repository: str = "acme/web-app", **pr) -> dict:
    payload = copy.deepcopy(fixture("pull_request/opened.payload.json"))
    payload["action"] = action
    payload["repository"]["full_name"] = repository
    payload["pull_request"].update(
        number=42, title="Faster checkout", additions=120, deletions=30, changed_files=7, **pr
    )
    payload["pull_request"]["html_url"] = f"https://github.com/{repository}/pull/42"
    return payload


def review(state: str, repository: str = "acme/web-app") -> dict:
    payload = copy.deepcopy(fixture("pull_request_review/submitted.payload.json"))
    payload["repository"]["full_name"] = repository
    payload["review"].update(state=state, body="Looks good", html_url="https://github.com/r/1")
    payload["review"]["user"]["login"] = "bob"
    return payload


@pytest.fixture
def routes(catalog):
    """PRs of acme/web-app go to #web-team; deploy news of the api service to #api-ops."""
    ChannelRoute.objects.create(
        events=["pull_request", "pull_request_review"], repository="acme/web-app", channel="console:web-team"
    )
    ChannelRoute.objects.create(events=["deploy"], service=Service.objects.get(name="api"), channel="console:api-ops")


def test_an_opened_pull_request_says_what_and_where(deliver, routes):
    deliver("pull_request", pull_request())

    [message] = said("web-team")
    assert "acme/web-app#42 Faster checkout opened" in message
    assert "Author: Codertocat" in message
    assert "Branches: changes → master" in message
    assert "Size: +120 −30 in 7 files" in message
    assert "Pull request: https://github.com/acme/web-app/pull/42" in message


@pytest.mark.parametrize(
    ("action", "merged", "says"),
    [
        ("closed", True, "merged"),
        ("closed", False, "closed without merging"),
        ("reopened", False, "reopened"),
        ("ready_for_review", False, "is ready for review"),
    ],
)
def test_each_announced_action_reads_as_what_happened(deliver, routes, action, merged, says):
    deliver("pull_request", pull_request(action, merged=merged))

    assert said("web-team")[0].splitlines()[0].endswith(f"Faster checkout {says}")


def test_a_review_request_names_the_reviewer(deliver, routes):
    payload = pull_request("review_requested")
    payload["requested_reviewer"] = {"login": "carol"}

    deliver("pull_request", payload)

    assert "Reviewer: carol" in said("web-team")[0]


def test_drafts_stay_quiet_until_ready(deliver, routes):
    deliver("pull_request", pull_request("opened", draft=True))
    deliver("pull_request", pull_request("review_requested", draft=True))
    assert said("web-team") == []
    assert WebhookDelivery.objects.filter(outcome=DeliveryOutcome.IGNORED).count() == 2

    deliver("pull_request", pull_request("ready_for_review", draft=False))

    assert len(said("web-team")) == 1


@pytest.mark.parametrize(
    ("state", "says"), [("approved", "bob approved"), ("changes_requested", "bob requested changes on")]
)
def test_approvals_and_change_requests_are_announced(deliver, routes, state, says):
    deliver("pull_request_review", review(state))

    [message] = said("web-team")
    assert message.startswith(f"{'✅' if state == 'approved' else '✋'} {says} acme/web-app#")
    assert "Review: https://github.com/r/1" in message


def test_plain_review_comments_are_not(deliver, routes):
    deliver("pull_request_review", review("commented"))

    assert said("web-team") == []


def test_a_repository_without_a_route_goes_to_the_default_channel(deliver, routes, settings):
    settings.CHATOPS_DEFAULT_CHANNEL = "console:everything"

    deliver("pull_request", pull_request(repository="acme/worker"))

    assert said("web-team") == []
    assert len(said("everything")) == 1


def test_or_stays_silent_without_one(deliver, routes, settings):
    settings.CHATOPS_DEFAULT_CHANNEL = ""

    deliver("pull_request", pull_request(repository="acme/worker"))

    assert WebhookDelivery.objects.get().note == "no channel hears pull_request of acme/worker"


def test_github_deployments_of_a_service_go_to_its_deploy_route(deliver, routes):
    payload = copy.deepcopy(fixture("deployment_status/payload.json"))
    payload["repository"]["full_name"] = "acme/api"
    payload["deployment_status"]["log_url"] = "https://ci.example.com/log/9"

    deliver("deployment_status", payload)

    [message] = said("api-ops")
    assert message.startswith("✅ acme/api to production: success")
    assert "Log: https://ci.example.com/log/9" in message
    assert said("web-team") == []
