"""`/deploy` without arguments opens a modal; submitting it starts the deploy as the person who submitted."""

import json

import pytest

from bots.models import CommandRun, PostedMessage
from chatops_site.deploys.models import Deployment
from tests.slack.conftest import CHANNEL, TEAM, USERS


def _opened_view(slack) -> dict:
    (call,) = slack.api.api_calls("views.open")
    return call


def test_deploy_without_arguments_opens_the_modal_with_the_catalog(slack):
    response = slack.command("/deploy")

    assert response.status_code == 200 and response.content == b""
    call = _opened_view(slack)
    assert call["trigger_id"].endswith(".trigger")
    view = call["view"]
    assert view["callback_id"] == "deploy"
    options = {b["block_id"]: [o["value"] for o in b["element"].get("options", [])] for b in view["blocks"]}
    assert options == {
        "service": ["api", "web-app", "worker"],
        "env": ["dev", "staging", "prod"],
        "version": [],
        "override": [],
    }
    assert not CommandRun.objects.exists()


def test_the_umbrella_opens_it_too(slack):
    slack.command("/ops deploy")

    assert _opened_view(slack)["view"]["callback_id"] == "deploy"


def test_opening_the_modal_does_not_wait_for_slack(slack):
    slack.api.delay = 2.0

    response = slack.command("/deploy", run_tasks=False)

    assert response.status_code == 200 and slack.api.calls == []


def submission(service="web-app", env="staging", version="", user="alice", trigger="9.9.trigger"):
    def selected(value):
        return {"value": {"type": "static_select", "selected_option": {"value": value} if value else None}}

    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": USERS.get(user, user), "username": user, "team_id": TEAM},
        "trigger_id": trigger,
        "view": {
            "id": "V123",
            "type": "modal",
            "callback_id": "deploy",
            "private_metadata": json.dumps({"channel": CHANNEL}),
            "hash": "1.abc",
            "state": {
                "values": {
                    "service": selected(service),
                    "env": selected(env),
                    "version": {"value": {"type": "plain_text_input", "value": version or None}},
                }
            },
        },
    }


def test_a_valid_submission_deploys_as_the_submitter_and_posts_one_message_that_moves(slack):
    response = slack.interaction(submission(version="v3"))

    assert response.status_code == 200 and response.content == b""
    deployment = Deployment.objects.get()
    assert (deployment.requested_by.username, deployment.version, deployment.state) == ("alice", "v3", "succeeded")
    run = CommandRun.objects.get()
    assert (run.command, run.text, run.channel, run.outcome) == ("deploy", "web-app staging v3", CHANNEL, "ok")
    (message,) = slack.api.channel_messages(CHANNEL)
    assert message["text"].endswith("succeeded")
    assert PostedMessage.objects.get().key == f"deployment:{deployment.pk}"


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"service": "nope"}, {"service"}),
        ({"service": "", "env": ""}, {"service", "env"}),
        ({"env": "moon"}, {"env"}),
    ],
)
def test_an_invalid_submission_shows_errors_on_the_fields_and_runs_nothing(slack, values, errors):
    response = slack.interaction(submission(**values))

    answer = response.json()
    assert answer["response_action"] == "errors" and set(answer["errors"]) == errors
    assert not CommandRun.objects.exists()


@pytest.mark.parametrize("version", ["two words", 'v1"', "$(id)", "x" * 201])
def test_a_version_the_deploy_rules_refuse_is_shown_under_the_field_and_recorded_as_invalid(slack, version):
    answer = slack.interaction(submission(version=version)).json()

    assert answer["response_action"] == "errors" and set(answer["errors"]) == {"version"}
    assert "is not a valid version" in answer["errors"]["version"] or "longer than 200" in answer["errors"]["version"]
    assert CommandRun.objects.get().outcome == "invalid"
    assert not Deployment.objects.exists()


def test_a_refused_submission_shows_why_on_the_form(slack):
    answer = slack.interaction(submission(user="carol")).json()

    assert answer["response_action"] == "errors"
    assert answer["errors"]["env"].startswith("carol may not deploy")
    assert CommandRun.objects.get().outcome == "refused" and not Deployment.objects.exists()


def test_a_repeated_submission_deploys_once(slack):
    slack.interaction(submission(trigger="same"))
    slack.interaction(submission(trigger="same"))

    assert Deployment.objects.count() == 1
