"""While the database is not answering, Discord gets an interaction response it shows, never an error page."""

from __future__ import annotations

import logging

import pytest

from bots import command_engine
from bots.command_engine import UNREACHABLE
from bots.types import Reply
from tests.discord.conftest import click, interaction, slash
from tests.discord.test_signatures import PING

EPHEMERAL = 64


@pytest.fixture
def outage(linked, database_down, caplog):
    """The database stops answering once the personas are linked; the warnings logged meanwhile."""
    database_down()
    with caplog.at_level(logging.WARNING, logger="chatops"):
        yield caplog


def private_text(response) -> str:
    """The text of an answer only the person who typed or clicked sees (type 4, ephemeral)."""
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["type"], answer["data"]["flags"]) == (4, EPHEMERAL)
    return answer["data"]["content"]


def test_a_ping_during_an_outage_is_still_answered(post, outage):
    response = post(PING)

    assert response.status_code == 200 and response.json() == {"type": 1}


def test_a_command_during_an_outage_says_so_privately(post, outage):
    assert private_text(post(slash("status", service="web-app"))) == UNREACHABLE.format(what="/status")


def test_a_click_during_an_outage_says_so_privately(post, outage):
    assert private_text(post(click("approve:1", user="bob"))) == UNREACHABLE.format(what="/approve")


def test_a_click_cut_off_after_it_ran_says_so_privately(post, linked, database_down, monkeypatch):
    # The engine recorded the click, then the connection was cut before its outcome was read back.
    monkeypatch.setattr(command_engine, "handle", lambda invocation: Reply("Approved.", run_id=1))
    database_down()

    assert private_text(post(click("approve:1", user="bob"))) == UNREACHABLE.format(what="your click")


def test_suggestions_during_an_outage_are_none(post, outage):
    typing = {"id": "5001", "name": "deploy", "type": 1, "options": [{"name": "service", "type": 3, "value": "we"}]}
    typing["options"][0]["focused"] = True

    response = post(interaction(4, "alice", typing))

    assert response.status_code == 200
    assert response.json() == {"type": 8, "data": {"choices": []}}
    assert any(r.levelname == "WARNING" and "/discord/interactions" in r.getMessage() for r in outage.records)
