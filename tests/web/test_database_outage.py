"""While the database is not answering, the dashboard says so on a short 503 page, not an error page."""

from __future__ import annotations

import logging

import pytest
from django.utils.html import escape

from bots.command_engine import UNREACHABLE

SHOWN = escape(UNREACHABLE.format(what="your request"))

PAGES = ["/", "/history/", "/deployments/", "/deployments/1/", "/costs/", "/services/", "/profile/"]


@pytest.mark.parametrize("url", PAGES)
def test_a_page_during_an_outage_says_the_database_is_not_answering(client_as, database_down, caplog, url):
    browser = client_as("alice")  # logged in while the database still answered
    with caplog.at_level(logging.WARNING, logger="chatops"):
        database_down()
        response = browser.get(url)

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert SHOWN in response.text
    assert "Traceback" not in response.text and "server closed the connection" not in response.text
    assert any(r.levelname == "WARNING" and url in r.getMessage() for r in caplog.records)


def test_the_command_box_during_an_outage_answers_in_the_box(client_as, database_down):
    browser = client_as("alice")
    database_down()

    response = browser.post("/command/", {"line": "/status web-app"}, headers={"X-Requested-With": "fetch"})

    assert response.status_code == 503
    assert response.text.lstrip().startswith('<article class="answer refused">')
    assert SHOWN in response.text


def test_the_login_page_during_an_outage_says_so_too(client, catalog, database_down):
    database_down()

    response = client.post("/login/", {"username": "alice", "password": "correct horse battery"})

    assert response.status_code == 503 and "database is not answering" in response.text
