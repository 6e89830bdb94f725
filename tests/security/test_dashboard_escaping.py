"""XSS: what people type (or what an outside system sends) is shown escaped on every dashboard page.

Versions are validated and cannot carry `<`; the payloads go where text still arrives as typed: lock
and reject reasons, chat user names, command text and the answers that repeat it, catalog descriptions,
a deployment's detail, AWS service names in the cost chart, and the pages' own filter fields.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.utils.html import escape

from bots.command_engine import handle
from bots.types import Invocation
from chatops_site.catalog.models import DeployTarget, Service
from chatops_site.deploys.models import Deployment
from costs import store
from costs.periods import utc_today
from tests.security.conftest import csrf_token

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def typed(field: str) -> str:
    """Both payloads, after the name of the field they were put in, so each field is found on its page."""
    return f"{field}: {PAYLOADS[0]} {PAYLOADS[1]}"


def quoted(field: str) -> str:
    """The same typed in chat, where arguments are read like a shell's: the lone `"` needs quoting."""
    return f"{field}: {PAYLOADS[0]} '{PAYLOADS[1]}'"


@pytest.fixture
def typed_everywhere(say, django_capture_on_commit_callbacks) -> Deployment:
    """The payloads in every field a page shows; returns the rejected deployment that carries some of them."""
    say("bob", f"/lock api prod {quoted('lock')}")
    say("alice", "/deploy web-app prod v9")
    rejected = Deployment.objects.get()
    say("bob", f"/reject {rejected.pk} {quoted('reject')}")
    say("alice", f"/deploy {typed('command')}")  # unreadable, yet kept as typed
    with django_capture_on_commit_callbacks(execute=True):  # someone no admin has linked yet
        handle(
            Invocation(
                platform="slack",
                workspace="T0001",
                chat_user_id="U0NEW",
                chat_user_name=typed("name"),
                command="whoami",
            )
        )
    Service.objects.filter(name="web-app").update(
        description=typed("description"), team=typed("team"), cost_tag=typed("tag")
    )
    Deployment.objects.filter(pk=rejected.pk).update(detail=typed("detail"))
    end = utc_today() - timedelta(days=1)
    rows = [(end - timedelta(days=n), typed("aws"), "web-app", Decimal(400 if n == 0 else 20)) for n in range(30)]
    store.replace_days(end - timedelta(days=29), end, rows, estimated=set())
    return rejected


def _filters(*names: str) -> str:
    """A query string with the payloads in each named filter, as a crafted link would carry them."""
    return "?" + urlencode({name: typed("filter") for name in names})


def test_no_page_shows_a_payload_unescaped(browser, typed_everywhere):
    shows = {  # each page, and the fields it shows
        "/": ["lock"],
        "/history/": ["lock", "reject", "command", "name"],
        "/history/" + _filters("q", "user", "service", "environment"): ["filter"],
        "/deployments/": [],
        "/deployments/" + _filters("service", "requested_by", "since"): ["filter"],
        f"/deployments/{typed_everywhere.pk}/": ["reject", "detail"],
        "/services/": ["description", "team", "tag"],
        "/costs/": ["aws"],
        "/costs/" + _filters("period", "service"): ["filter"],
    }
    bob = browser("bob")
    for url, fields in shows.items():
        response = bob.get(url)

        assert response.status_code in (200, 400), url
        for payload in PAYLOADS:
            assert payload not in response.text, f"{payload!r} unescaped on {url}"
        for field in fields:  # the payload did reach the page, else the test would prove nothing
            assert escape(typed(field)) in response.text, f"{field} not shown on {url}"


def test_the_command_box_answer_shows_the_line_escaped(browser, django_capture_on_commit_callbacks):
    bob = browser("bob")
    for headers in ({"X-Requested-With": "fetch"}, {}):  # the fragment the script asks for, and the page
        with django_capture_on_commit_callbacks(execute=True):
            response = bob.post(
                "/command/",
                {"line": f"/lock web-app dev {quoted('box')}", "csrfmiddlewaretoken": csrf_token(bob)},
                headers=headers,
            )

        assert response.status_code == 200
        for payload in PAYLOADS:
            assert payload not in response.text
        assert escape(typed("box")) in response.text


def test_a_run_link_that_is_not_http_is_not_made_a_link(browser, alice):
    deployment = Deployment.objects.create(
        target=DeployTarget.objects.get(service__name="web-app", environment__name="staging"),
        version="v1",
        requested_by=alice,
        state="running",
        provider_run_id="run-1",
        provider_run_url="javascript:alert(1)",
    )

    page = browser("alice").get(f"/deployments/{deployment.pk}/").text

    assert "javascript:" not in page
    assert "run-1" in page
