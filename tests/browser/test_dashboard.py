"""The dashboard in a real browser: log in, deploy from the command box, approve, filter, look at costs."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from bots.command_engine import handle
from bots.types import Invocation
from chatops_site.catalog.models import Environment, Service
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment, State
from costs import store
from costs.periods import utc_today
from tests.browser.conftest import PHONE

PAGES = {"overview": "/", "history": "/history/", "deployments": "/deployments/", "costs": "/costs/",
         "services": "/services/", "profile": "/profile/"}  # fmt: skip


def test_anonymous_visitors_land_on_the_login_page(chromium, site):
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/history/")
    expect(page).to_have_url(f"{site.url}/login/?next=/history/")
    context.close()


def test_alice_deploys_from_the_command_box_and_sees_it_succeed(visit):
    page = visit("alice").open("/")

    page.fill("#command-line", "/deploy web-app staging")
    page.press("#command-line", "Enter")

    answer = page.locator("#answers .answer").first
    expect(answer).to_contain_text("web-app main to staging is queued")
    expect(answer.locator(".follow-ups")).to_contain_text("succeeded", timeout=15_000)
    assert Deployment.objects.get().state == State.SUCCEEDED


def test_carol_is_refused_in_the_command_box(visit):
    page = visit("carol").open("/")
    page.fill("#command-line", "/deploy web-app staging")
    page.click("#command-form button")
    expect(page.locator("#answers .answer.refused")).to_contain_text("carol may not deploy")


def test_bob_approves_a_prod_deploy_from_the_overview(visit, alice_waits):
    page = visit("bob").open("/")

    page.click(f"text=Approve #{alice_waits.pk}")

    expect(page.locator("#answers .answer").first).to_contain_text("approved by bob")
    expect(page.locator("main")).to_contain_text("Nothing waits for approval", timeout=15_000)
    alice_waits.refresh_from_db()
    assert alice_waits.state == State.SUCCEEDED


def test_history_is_filtered_from_the_form(visit, typed):
    page = visit("carol").open("/history/")
    page.select_option("#id_user", "bob")
    page.click("text=Filter")

    expect(page).to_have_url(re.compile(r"user=bob"))
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("/whoami")


def test_the_costs_page_draws_its_chart(visit, costs):
    page = visit("carol").open("/costs/")
    chart = page.locator("#cost-chart svg")
    expect(chart).to_be_visible()
    assert page.locator("#cost-chart svg rect").count() == 30 * 2


@pytest.mark.parametrize("name", PAGES)
def test_every_page_fits_a_phone_and_is_captured(visit, name, alice_waits, typed, costs):
    wide = visit("bob")
    wide.open(PAGES[name])
    wide.screenshot(f"{name}")
    phone = visit("bob", PHONE)
    phone.open(PAGES[name])
    phone.screenshot(f"{name}-390px")
    assert phone.sideways_overflow() <= 0


@pytest.fixture
def alice_waits(site):
    alice = Deployment.requested_by.field.related_model.objects.get(username="alice")
    return engine.request_deploy(alice, Service.objects.get(name="api"), Environment.objects.get(name="prod"), "v3")


@pytest.fixture
def typed(site):
    for username, line in (("alice", "/status"), ("bob", "/whoami"), ("carol", "/help deploy")):
        handle(Invocation.from_line(line, platform="console", workspace="local", chat_user_id=username))


@pytest.fixture
def costs(site):
    end = utc_today() - timedelta(days=1)
    start = end - timedelta(days=59)
    rows = []
    for i in range(60):
        day = start + timedelta(days=i)
        rows += [(day, "Amazon EC2", "web-app", Decimal(20 + i % 7)), (day, "Amazon S3", "api", Decimal(4))]
    store.replace_days(start, end, rows, estimated={end})


def test_alice_makes_an_api_token_sees_its_key_once_and_revokes_it(visit):
    tab = visit("alice", PHONE)
    page = tab.open("/profile/")

    page.fill("#id_name", "release script")
    page.click("text=Create a token")

    key = page.locator("#new-key").inner_text()
    assert len(key) == 64
    row = page.locator("table.tokens tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("release script")
    expect(row).to_contain_text("never")
    tab.screenshot("profile-new-token-390px")
    assert tab.sideways_overflow() <= 0

    page = tab.open("/profile/")
    assert key not in page.content()
    page.click("text=Revoke release script")
    expect(page.locator(".messages")).to_contain_text("The API token release script is revoked")
    expect(page.locator("#api-tokens")).to_contain_text("No tokens yet.")
