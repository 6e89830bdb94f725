"""The issue's "Done when" for costs, as a new user checks it against the Cost Explorer double."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from costs.periods import utc_today
from costs.replies import money
from tests.costs.conftest import SPIKE


def backfill(days: int = 60) -> str:
    out = StringIO()
    call_command("costs_backfill", "--days", str(days), stdout=out)
    return out.getvalue()


def first_line(reply) -> str:
    return reply.text.splitlines()[0]


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [("yesterday", 1, 1), ("7d", 7, 1), ("30d", 30, 1)],
)
def test_cost_totals_are_exactly_what_cost_explorer_holds(costs_60_days, say, period, first, last):
    backfill()
    today = utc_today()
    expected = costs_60_days.total(today - timedelta(days=first), today - timedelta(days=last))
    reply = say("carol", f"/cost {period}")
    assert first_line(reply).endswith(f": {money(expected)} (estimated)")


def test_cost_of_one_service_is_exactly_its_tagged_spend(costs_60_days, say):
    backfill()
    today = utc_today()
    expected = costs_60_days.total(today - timedelta(days=7), today - timedelta(days=1), tag="web-app")
    text = first_line(say("carol", "/cost 7d web-app"))
    assert text.startswith("💰 web-app costs last 7 days, ")
    assert text.endswith(f": {money(expected)} (estimated)")


def test_a_second_backfill_changes_no_total(costs_60_days, say):
    backfill()
    before = [say("carol", f"/cost {p}").text for p in ("yesterday", "7d", "30d", "7d web-app")]
    backfill()
    assert [say("carol", f"/cost {p}").text for p in ("yesterday", "7d", "30d", "7d web-app")] == before


def test_yesterdays_spike_is_named_by_cost_yesterday_and_by_the_digest(costs_60_days, say):
    backfill()
    reply = say("carol", "/cost yesterday")
    anomalies = dict(reply.fields)["Anomalies"]
    yesterday = utc_today() - timedelta(days=1)
    assert anomalies.startswith(f"⚠️ web-app on {yesterday} (estimated): ")
    assert "Amazon Elastic Compute Cloud - Compute" in anomalies
    assert len(anomalies.splitlines()) == 1  # only the service that spiked
    out = StringIO()
    call_command("cost_digest", "--print", stdout=out)
    printed = out.getvalue()
    assert f"  Anomalies: ⚠️ web-app on {yesterday} (estimated): " in printed
    assert SPIKE > 0
