"""Reading the schedule file and working out who is on call now and next."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatops_oncall.schedule import Rota, ScheduleError, Shift, parse, read, rotas

SCHEDULE = """\
team,name,start,end
payments,alice,2025-06-02 09:00,2025-06-09 09:00
payments,bob,2025-06-09T09:00Z,2025-06-16T09:00+00:00

Search,carol,2025-06-02 09:00,2025-06-04 09:00
search,dave,2025-06-05 11:00+02:00,2025-06-12 09:00
"""


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 6, day, hour, tzinfo=UTC)


def test_every_row_is_a_shift_in_utc_with_its_team_in_lower_case():
    shifts = parse(SCHEDULE)
    assert shifts[0] == Shift("payments", "alice", at(2, 9), at(9, 9))
    assert shifts[1] == Shift("payments", "bob", at(9, 9), at(16, 9))
    assert shifts[2].team == "search"
    assert shifts[3].start == at(5, 9), "an explicit offset is converted to UTC"
    assert len(shifts) == 4, "blank lines are skipped"


def test_who_is_on_call_now_and_next_per_team_in_name_order():
    assert rotas(parse(SCHEDULE), at(4)) == [
        Rota("payments", now=[Shift("payments", "alice", at(2, 9), at(9, 9))], next=[parse(SCHEDULE)[1]]),
        Rota("search", now=[], next=[parse(SCHEDULE)[3]]),
    ]


def test_a_hand_over_moment_belongs_to_the_next_shift():
    (payments, _) = rotas(parse(SCHEDULE), at(9, 9))
    assert [s.name for s in payments.now] == ["bob"] and payments.next == []


def test_the_file_is_read_from_its_path(tmp_path):
    path = tmp_path / "oncall.csv"
    path.write_text(SCHEDULE)
    assert read(path) == parse(SCHEDULE)


def test_a_missing_file_is_named_without_its_directory(tmp_path):
    with pytest.raises(ScheduleError, match=r"^cannot read gone\.csv: FileNotFoundError$"):
        read(tmp_path / "gone.csv")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "line 1: the header must be team,name,start,end"),
        ("who,when\n", "line 1: the header must be team,name,start,end"),
        ("team,name,start,end\npayments,alice,2025-06-02\n", "line 2: 3 fields, expected 4 (team,name,start,end)"),
        ("team,name,start,end\n,alice,2025-06-02,2025-06-03\n", "line 2: the team and the name must not be blank"),
        (
            "team,name,start,end\n\npayments,alice,monday,2025-06-03\n",
            "line 3: start 'monday' is not a time like 2025-06-02 09:00 (UTC)",
        ),
        ("team,name,start,end\npayments,alice,2025-06-03,2025-06-02\n", "line 2: the shift ends before it starts"),
    ],
)
def test_a_bad_line_is_refused_with_its_number_and_reason(text, reason):
    with pytest.raises(ScheduleError) as refused:
        parse(text)
    assert str(refused.value) == reason
