"""Command history through the API: the dashboard's filters, keyset pages, and what each user may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bots.models import CommandRun


@pytest.fixture
def typed(say):
    """Four commands typed at the console by alice, bob and carol."""
    say("alice", "/deploy web-app staging v1")
    say("bob", "/deploy api prod")  # refused: bob may not deploy to prod
    say("carol", "/status")
    say("alice", "/whoami")


def texts(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [f"{run['user']}: /{run['command']} {run['text']}".strip() for run in response.json()["results"]]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["alice: /whoami", "carol: /status", "bob: /deploy api prod", "alice: /deploy web-app staging v1"]),
        ("?user=alice", ["alice: /whoami", "alice: /deploy web-app staging v1"]),
        ("?command=/deploy&outcome=refused", ["bob: /deploy api prod"]),
        ("?service=web-app&environment=staging", ["alice: /deploy web-app staging v1"]),
        ("?platform=console&q=prod", ["bob: /deploy api prod"]),
        ("?q=staging v1", ["alice: /deploy web-app staging v1"]),
        ("?platform=slack", []),
        ("?until=2000-01-01", []),
    ],
)
def test_history_filters_like_the_dashboard(api, typed, query, expected):
    assert texts(api("carol").get(f"/api/v1/commands/{query}")) == expected


def test_a_run_says_how_it_ended_and_what_the_bot_answered(api, typed):
    refused = api("carol").get("/api/v1/commands/?outcome=refused").json()["results"][0]

    assert refused["outcome"] == "refused"
    assert refused["reply"] == "bob may not deploy api in prod: ask an admin for the 'deploy' grant."
    assert refused["platform"] == "console" and refused["service"] == "api" and refused["environment"] == "prod"
    assert "reply_handle" not in refused and "request_id" not in refused  # follow-up credentials stay inside


def test_without_view_a_user_sees_only_their_own_commands(api, typed, say):
    say("dave", "/whoami")  # not linked: refused, and not dave's by account
    CommandRun.objects.filter(command="status").update(user=None)
    dave = api("dave")
    assert texts(dave.get("/api/v1/commands/")) == []


@pytest.fixture
def many_runs(catalog):
    """120 runs a second apart, newest last: 3 pages of 50, 50 and 20."""
    start = timezone.now() - timedelta(hours=1)
    CommandRun.objects.bulk_create(
        CommandRun(platform="slack", chat_user_id="U1", command="status", text=f"n{i}", outcome="ok",
                   received_at=start + timedelta(seconds=i))
        for i in range(120)
    )  # fmt: skip


def test_cursor_pages_walk_down_and_back_up(api, many_runs):
    client = api("carol")
    first = client.get("/api/v1/commands/").json()
    assert first["previous"] is None
    assert [r["text"] for r in first["results"]][:2] == ["n119", "n118"] and len(first["results"]) == 50

    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert [r["text"] for r in third["results"]][-1] == "n0" and len(third["results"]) == 20
    assert third["next"] is None

    back = client.get(third["previous"]).json()
    assert back["results"] == second["results"]
    assert "after=" not in third["previous"]


def test_cursor_pages_keep_the_filters(api, many_runs):
    CommandRun.objects.filter(text__in=[f"n{i}" for i in range(0, 120, 2)]).update(command="deploy")
    client = api("carol")
    first = client.get("/api/v1/commands/?command=deploy").json()
    assert "command=deploy" in first["next"]
    second = client.get(first["next"]).json()
    assert [r["text"] for r in second["results"]] == [f"n{i}" for i in range(18, -1, -2)]
    assert second["next"] is None


def test_a_broken_cursor_is_a_clear_400(api, many_runs):
    response = api("carol").get("/api/v1/commands/?after=garbage")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "cursor: That cursor is broken; follow the `next` and `previous` links as they are."
    )
