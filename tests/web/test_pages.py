"""Every dashboard page is behind the login, and each persona can open each of them."""

from __future__ import annotations

import pytest

from chatops_site.deploys.models import Deployment

PAGES = ["/", "/history/", "/deployments/", "/costs/", "/services/", "/profile/"]


@pytest.mark.parametrize("url", [*PAGES, "/deployments/1/", "/command/1/messages/"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, catalog, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_an_anonymous_command_is_not_run(client, catalog):
    response = client.post("/command/", {"line": "/deploy web-app staging"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not Deployment.objects.exists()


@pytest.mark.parametrize("username", ["alice", "bob", "carol"])
@pytest.mark.parametrize("url", PAGES)
def test_each_persona_opens_each_page_with_the_command_box(client_as, username, url):
    response = client_as(username).get(url)
    assert response.status_code == 200
    assert 'id="command-form"' in response.text


def test_a_persona_logs_in_with_a_password_and_lands_on_the_overview(client, alice):
    alice.set_password("correct horse battery")
    alice.save()

    response = client.post("/login/", {"username": "alice", "password": "correct horse battery"}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert "Services" in response.text and "web-app" in response.text


def test_a_wrong_password_is_refused_on_the_login_page(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.text


def test_logging_out_ends_the_session(client_as):
    client = client_as("alice")
    client.post("/logout/")
    assert client.get("/").status_code == 302
