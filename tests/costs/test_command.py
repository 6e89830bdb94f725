"""/cost as people type it, and the demo year seed_demo adds."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bots.models import CommandRun
from chatops_site.catalog.models import ChatIdentity
from costs.demo import SPEND, SPIKE
from costs.models import CostRecord, DailyCost, Dimension
from costs.periods import utc_today


@pytest.fixture
def demo_costs(catalog):
    call_command("seed_demo", stdout=StringIO())


def test_cost_with_only_a_service_means_yesterday_for_it(demo_costs, say):
    assert say("carol", "/cost web-app").text.startswith(f"💰 web-app costs yesterday, {utc_today() - timedelta(1)} ")


def test_cost_with_a_bad_period_says_what_to_type(demo_costs, say):
    reply = say("carol", "/cost fortnight")
    assert reply.text == (
        "'fortnight' is not a period; use today, yesterday, week, month or <N>d (e.g. 30d)\n"
        "Usage: /cost [<period>] [<service>]"
    )
    assert CommandRun.objects.get(pk=reply.run_id).outcome == "invalid"


def test_cost_of_an_unknown_service_suggests_the_close_one(demo_costs, say):
    assert say("carol", "/cost 7d web-ap").text.startswith("unknown service 'web-ap' - did you mean 'web-app'?")


def test_cost_needs_the_view_grant(demo_costs, say):
    dave = get_user_model().objects.create(username="dave")
    ChatIdentity.objects.create(platform="console", workspace="local", chat_user_id="dave", user=dave)
    reply = say("dave", "/cost week")
    assert reply.text == "dave may not view history: ask an admin for the 'view' grant."
    assert say("nobody", "/cost week").text.startswith("Your console account (nobody) is not linked")


def test_cost_says_when_history_is_missing(catalog, say):
    reply = say("carol", "/cost 7d")
    assert reply.text.endswith(": $0.00")
    assert dict(reply.fields)["Note"].startswith("cost data covers 0 of the 7 days; `manage.py costs_backfill")


def test_seed_demo_adds_a_year_of_demo_costs_with_a_weekly_rhythm_and_one_spike(demo_costs, say):
    today = utc_today()
    days = DailyCost.objects.filter(dimension=Dimension.TOTAL)
    assert days.count() == 366  # a year and today so far
    assert not CostRecord.objects.filter(demo=False).exists()
    assert CostRecord.objects.count() == 366 * sum(len(lines) for lines in SPEND.values())
    totals = dict(days.values_list("day", "amount"))
    last_month = [today - timedelta(days=n) for n in range(2, 30)]
    weekdays = [totals[d] for d in last_month if d.weekday() < 5]
    weekends = [totals[d] for d in last_month if d.weekday() >= 5]
    assert max(weekends) < min(weekdays)
    reply = say("carol", "/cost yesterday")
    anomalies = dict(reply.fields)["Anomalies"]
    assert anomalies.startswith(f"⚠️ {SPIKE[0]} on {today - timedelta(days=1)} (estimated): ")
    assert len(anomalies.splitlines()) == 1
    assert dict(reply.fields)["Note"] == "demo data from seed_demo; the first real ingestion replaces it"


def test_seed_demo_again_replaces_the_demo_year(demo_costs):
    rows = CostRecord.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert CostRecord.objects.count() == rows
