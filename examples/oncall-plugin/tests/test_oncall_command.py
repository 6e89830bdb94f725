"""/oncall's answer, and the command through the product's engine as a chat user types it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from bots.command_engine import handle
from bots.grammar import InvalidCommand
from bots.platforms.console import WORKSPACE
from bots.types import Invocation
from chatops_oncall.commands import NO_SCHEDULE, answer
from chatops_oncall.schedule import parse
from chatops_site.catalog.models import ChatIdentity, Grant

SCHEDULE = """\
team,name,start,end
payments,alice,2025-06-02 09:00,2025-06-09 09:00
payments,bob,2025-06-09 09:00,2025-06-16 09:00
search,carol,2025-06-02 09:00,2025-06-04 09:00
search,dave,2025-06-05 09:00,2025-06-12 09:00
search,erin,2025-06-05 09:00,2025-06-12 09:00
web,frank,2025-06-01 00:00,2025-06-30 00:00
"""
WEDNESDAY_NOON = datetime(2025, 6, 4, 12, tzinfo=UTC)


def test_every_team_is_answered_with_now_and_next():
    assert answer(parse(SCHEDULE), None, WEDNESDAY_NOON).splitlines() == [
        "On call at Wed 04 Jun 12:00 UTC:",
        "  payments: alice until Mon 09 Jun 09:00; next bob from Mon 09 Jun 09:00",
        "  search: nobody now; next dave and erin from Thu 05 Jun 09:00",
        "  web: frank until Mon 30 Jun 00:00; nothing scheduled next",
    ]


@pytest.mark.parametrize("team", ["search", "SEARCH"])
def test_one_team_is_answered_alone(team):
    assert answer(parse(SCHEDULE), team, WEDNESDAY_NOON).splitlines()[1:] == [
        "  search: nobody now; next dave and erin from Thu 05 Jun 09:00"
    ]


def test_an_unknown_team_is_refused_with_the_closest_name_or_the_known_ones():
    with pytest.raises(InvalidCommand, match=r"^unknown team 'serch' - did you mean 'search'\?$"):
        answer(parse(SCHEDULE), "serch", WEDNESDAY_NOON)
    with pytest.raises(InvalidCommand, match=r"^unknown team 'ops' \(known: payments, search, web\)$"):
        answer(parse(SCHEDULE), "ops", WEDNESDAY_NOON)


def test_an_empty_schedule_says_so():
    assert answer(parse("team,name,start,end\n"), None, WEDNESDAY_NOON) == "The on-call schedule lists nobody yet."


@pytest.fixture
def ask(db):
    """`ask("/oncall")` typed at the console by pat, a linked user who holds the grant `oncall`."""
    pat = get_user_model().objects.create(username="pat")
    ChatIdentity.objects.create(platform="console", workspace=WORKSPACE, chat_user_id="pat", user=pat)
    Grant.objects.create(user=pat, action="oncall")

    def ask(line: str) -> str:
        return handle(Invocation.from_line(line, platform="console", workspace=WORKSPACE, chat_user_id="pat")).text

    return ask


def test_the_command_reads_the_file_that_oncall_schedule_names(ask, settings, tmp_path):
    path = tmp_path / "oncall.csv"
    path.write_text("team,name,start,end\npayments,alice,2000-01-01 00:00,2999-01-01 00:00\n")
    settings.ONCALL_SCHEDULE = str(path)
    assert ask("/oncall").splitlines()[1] == "  payments: alice until Tue 01 Jan 00:00; nothing scheduled next"


def test_without_a_schedule_the_command_says_how_to_set_one(ask, settings, monkeypatch):
    settings.ONCALL_SCHEDULE = ""
    monkeypatch.delenv("ONCALL_SCHEDULE", raising=False)
    assert ask("/oncall") == NO_SCHEDULE


def test_a_broken_schedule_is_reported_to_the_asker_with_its_line(ask, settings, tmp_path):
    path = tmp_path / "oncall.csv"
    path.write_text("team,name,start,end\npayments,alice,soon,later\n")
    settings.ONCALL_SCHEDULE = str(path)
    assert ask("/oncall") == (
        "The on-call schedule cannot be read (line 2: start 'soon' is not a time like 2025-06-02 09:00 (UTC)); "
        "an admin has to fix it."
    )
