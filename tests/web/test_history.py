"""The command history page: filters as people type them, and keyset pages that never count or skip."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bots.models import CommandRun
from chatops_site.catalog.models import Grant, Service
from chatops_site.web.filters import CommandRunFilter

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def runs(*specs, **common):
    """Write command runs directly: each spec is a dict of fields; received_at defaults to START + i minutes."""
    made = []
    for i, spec in enumerate(specs):
        fields = {
            "platform": "slack",
            "chat_user_id": "U1",
            "command": "status",
            "outcome": "ok",
            "received_at": START + timedelta(minutes=i),
            **common,
            **spec,
        }
        made.append(CommandRun(**fields))
    return CommandRun.objects.bulk_create(made)


def shown(response) -> list[int]:
    """Ids of the runs on a history page, top to bottom (the command cell carries the text)."""
    return [int(pk) for pk in re.findall(r"<code>/\w+ run-(\d+)</code>", response.text)]


@pytest.fixture
def history(alice, bob, carol):
    return runs(
        {"user": alice, "command": "deploy", "text": "web-app prod", "service": "web-app", "environment": "prod"},
        {"user": bob, "command": "deploy", "text": "api staging", "service": "api", "environment": "staging"},
        {"user": carol, "command": "deploy", "text": "api dev", "outcome": "refused", "service": "api"},
        {"user": None, "platform": "discord", "chat_user_name": "mallory", "command": "whoami"},
        {"user": bob, "command": "approve", "text": "12", "reply": "Deploy #12 approved by bob"},
    )


def names(queryset) -> list[str]:
    return [f"/{r.command} {r.text}".strip() for r in queryset]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"user": "bob"}, ["/approve 12", "/deploy api staging"]),
        ({"platform": "discord"}, ["/whoami"]),
        ({"command": "/deploy", "service": "api"}, ["/deploy api dev", "/deploy api staging"]),
        ({"environment": "prod"}, ["/deploy web-app prod"]),
        ({"outcome": "refused"}, ["/deploy api dev"]),
        ({"q": "mallory"}, ["/whoami"]),
        ({"q": "approved bob"}, ["/approve 12"]),
        ({"since": "2024-05-01T12:03:00Z"}, ["/approve 12", "/whoami"]),
        ({"until": "2024-05-01T12:01:00+00:00"}, ["/deploy api staging", "/deploy web-app prod"]),
        ({"since": "2024-05-01", "until": "2024-05-01"}, 5),
        ({"until": "2024-04-30"}, []),
    ],
)
def test_history_filters_take_names_and_dates_as_people_type_them(history, params, expected):
    found = CommandRunFilter(params, queryset=CommandRun.objects.all())
    assert found.is_valid(), found.errors
    if isinstance(expected, int):
        assert found.qs.count() == expected
    else:
        assert names(found.qs) == expected


@pytest.mark.parametrize(
    "params, message",
    [
        ({"user": "nobody"}, "There is no user named 'nobody'."),
        ({"service": "web-ap"}, "There is no service named 'web-ap'."),
        ({"since": "yesterday"}, "'yesterday' is not a date (YYYY-MM-DD) or an ISO 8601 time."),
        ({"outcome": "great"}, "Select a valid choice."),
    ],
)
def test_a_filter_naming_nothing_says_what_is_wrong(history, params, message):
    found = CommandRunFilter(params, queryset=CommandRun.objects.all())
    assert not found.is_valid()
    assert any(message in error for errors in found.errors.values() for error in errors)


def test_the_page_shows_filter_errors_and_no_rows(client_as, history):
    response = client_as("alice").get("/history/?user=nobody")
    assert "There is no user named &#x27;nobody&#x27;." in response.text
    assert "No commands match." in response.text


def test_the_history_page_filters(client_as, history):
    response = client_as("alice").get("/history/?user=carol&outcome=refused")
    assert "/deploy api dev" in response.text
    assert "/deploy api staging" not in response.text


def test_without_a_view_grant_people_see_only_their_own_commands(client_as, history, bob):
    Grant.objects.filter(user=bob, action="view").delete()
    response = client_as("bob").get("/history/")
    assert "/deploy api staging" in response.text and "/approve 12" in response.text
    assert "/deploy web-app prod" not in response.text and "/whoami" not in response.text


def test_a_view_grant_on_one_service_shows_that_service(client_as, history, bob):
    Grant.objects.filter(user=bob, action="view").update(service=Service.objects.get(name="web-app"))
    response = client_as("bob").get("/history/")
    assert "/deploy web-app prod" in response.text
    assert "/deploy api dev" not in response.text


@pytest.fixture
def many(alice):
    """130 runs, every pair sharing one received_at, so pages must break ties on the id."""
    made = runs(
        *({"text": f"run-{i}", "received_at": START + timedelta(minutes=i // 2)} for i in range(130)), user=alice
    )
    return sorted(made, key=lambda r: (r.received_at, r.pk), reverse=True)


def test_older_pages_walk_the_whole_history_once_in_order(client_as, many):
    client = client_as("alice")
    seen, url = [], "/history/?user=alice"
    while url:
        response = client.get(url)
        seen += shown(response)
        older = re.search(r'href="(\?[^"]*after=[^"]*)" rel="next"', response.text)
        url = "/history/" + older.group(1).replace("&amp;", "&") if older else None
    assert [int(r.text.split("-")[1]) for r in many] == seen
    assert len(seen) == 130


def test_newer_links_lead_back_to_the_same_pages(client_as, many):
    client = client_as("alice")
    first = client.get("/history/")
    older = re.search(r'href="\?(after=[^"]*)" rel="next"', first.text).group(1)
    second = client.get(f"/history/?{older}")
    newer = re.search(r'href="\?(before=[^"]*)" rel="prev"', second.text).group(1)

    back = client.get(f"/history/?{newer}")

    assert shown(back) == shown(first)
    assert len(shown(second)) == 50 and not set(shown(second)) & set(shown(first))


def test_pages_never_count_or_skip_rows_in_sql(client_as, many):
    client = client_as("alice")
    first = client.get("/history/")
    older = re.search(r'href="\?(after=[^"]*)" rel="next"', first.text).group(1)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/history/?{older}&command=status")
    history_sql = [q["sql"] for q in queries if "bots_commandrun" in q["sql"]]
    assert history_sql
    assert not any("OFFSET" in sql.upper() or "COUNT(" in sql.upper() for sql in history_sql)


def test_a_broken_page_link_shows_the_newest_rows(client_as, many):
    response = client_as("alice").get("/history/?after=not-a-cursor")
    assert "That page link is broken" in response.text
    assert shown(response)[0] == int(many[0].text.split("-")[1])
