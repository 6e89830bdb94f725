"""While the database is not answering, Slack gets an answer it shows (or retries later), never an error page."""

import logging

import pytest

from bots.command_engine import UNREACHABLE
from bots.models import CommandRun
from tests.slack.test_events import mention
from tests.slack.test_modal import submission


@pytest.fixture
def outage(slack, database_down, caplog):
    """The database stops answering once the Slack users are set up; `outage()` brings it back."""
    with caplog.at_level(logging.WARNING, logger="chatops"):
        yield database_down()


@pytest.fixture
def warned(caplog):
    """Whether a warning was logged about a request to this path."""
    return lambda path: any(r.levelname == "WARNING" and path in r.getMessage() for r in caplog.records)


def test_a_modal_submitted_during_an_outage_says_so_in_the_modal(slack, outage, warned):
    response = slack.interaction(submission(version="v3"))

    # Slack shows the text under the modal's first field, and the modal stays open to submit again.
    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {"service": UNREACHABLE.format(what="/deploy")}}
    assert warned("/slack/interactions")


def test_a_click_during_an_outage_is_acknowledged_and_the_clicked_message_kept(slack, outage, warned):
    response = slack.click("approve:1", "1", user="bob")

    # Slack reads no body from a click's answer; a bare 200 leaves the message and its buttons as they were.
    assert response.status_code == 200 and response.content == b""
    assert slack.api.calls == []
    assert warned("/slack/interactions")


def test_a_mention_during_an_outage_is_refused_so_that_slack_delivers_it_again(slack, outage, warned):
    response = slack.event(mention("<@U0BOT> help"), "EvDown1")

    assert response.status_code == 503 and "Traceback" not in response.text
    assert warned("/slack/events")

    outage()  # ends it: the database is back, and Slack's retry runs the command once
    retried = slack.event(mention("<@U0BOT> help"), "EvDown1", headers={"X-Slack-Retry-Num": "1"})

    assert retried.status_code == 200
    assert CommandRun.objects.get().request_id == "EvDown1"
    assert len(slack.api.api_calls("chat.postEphemeral")) == 1


def test_deploy_without_arguments_during_an_outage_says_so_instead_of_opening_the_modal(slack, outage, warned):
    response = slack.command("/deploy")

    assert response.status_code == 200
    answer = response.json()
    assert (answer["response_type"], answer["text"]) == ("ephemeral", UNREACHABLE.format(what="/deploy"))
    assert slack.api.calls == []


def test_a_command_during_an_outage_is_still_answered_by_the_engine(slack, outage, warned):
    response = slack.command("/status web-app")

    assert response.status_code == 200
    assert response.json()["text"] == UNREACHABLE.format(what="/status")
