"""The costs page: the chart, month to date against budget, anomalies with the deploys near them, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from chatops_site.catalog.models import DeployTarget, Service
from chatops_site.deploys.models import Deployment, State
from costs import store
from costs.periods import utc_today

SPIKE_DAYS_AGO = 3


@pytest.fixture
def spend(alice):
    """40 days: web-app spends $20 a day on EC2 and $5 on S3, api $8 on RDS; web-app spikes 3 days ago."""
    end = utc_today() - timedelta(days=1)
    start = end - timedelta(days=39)
    spike = utc_today() - timedelta(days=SPIKE_DAYS_AGO)
    rows = []
    day = start
    while day <= end:
        rows += [
            (day, "Amazon EC2", "web-app", Decimal("400") if day == spike else Decimal("20")),
            (day, "Amazon S3", "web-app", Decimal("5")),
            (day, "Amazon RDS", "api", Decimal("8")),
        ]
        day += timedelta(days=1)
    store.replace_days(start, end, rows, estimated={end})
    Service.objects.filter(name="web-app").update(monthly_budget=Decimal("900"))
    target = DeployTarget.objects.get(service__name="web-app", environment__name="prod")
    started = datetime.combine(spike, time(1), tzinfo=UTC) - timedelta(hours=5)
    return Deployment.objects.create(
        target=target, version="v-big", state=State.SUCCEEDED, requested_by=alice, started_at=started
    )


def test_the_costs_page_draws_the_daily_chart_and_the_figures(client_as, spend):
    page = client_as("carol").get("/costs/").text

    assert '<svg viewBox="0 0 800 280"' in page
    assert page.count("<rect ") == 30 * 3  # 30 days x 3 AWS services
    assert "Amazon EC2" in page and "Month to date" in page and "Month forecast" in page
    assert "of $900.00 budget" in page  # every service: the sum of the budgets set
    assert "Per-service trends" in page and 'class="spark"' in page


def test_an_anomaly_is_marked_on_the_chart_with_the_deploy_before_it(client_as, spend):
    page = client_as("carol").get("/costs/").text

    assert '<g class="anomaly">' in page
    assert f"#{spend.pk} web-app v-big" in page
    assert f'href="/deployments/{spend.pk}/"' in page


def test_one_service_against_its_budget(client_as, spend):
    page = client_as("carol").get("/costs/?service=api&period=7d").text
    assert "Costs: api" in page and "Amazon RDS" in page and "Amazon EC2" not in page
    assert "no budget set" in page


def test_the_csv_holds_what_the_page_shows(client_as, spend):
    response = client_as("carol").get("/costs/?period=7d&format=csv")

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_aws = [r for r in rows if r["group_by"] == "aws_service"]
    by_service = [r for r in rows if r["group_by"] == "service"]
    assert len(by_aws) == 7 * 3 and len(by_service) == 7 * 2
    assert sum(Decimal(r["amount_usd"]) for r in by_aws) == sum(Decimal(r["amount_usd"]) for r in by_service)
    assert {r["group"] for r in by_service} == {"web-app", "api"}


def test_a_bad_period_is_refused_clearly(client_as, spend):
    response = client_as("carol").get("/costs/?period=forever")
    assert response.status_code == 400
    assert "Select a valid choice" in response.text


def test_without_cost_data_the_page_says_how_to_get_it(client_as):
    page = client_as("carol").get("/costs/").text
    assert "costs_backfill" in page
