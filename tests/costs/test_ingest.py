"""Ingestion from the Cost Explorer double: every page, no request twice, days replaced, demo rows gone."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from costs.demo import seed_costs
from costs.ingest import ingest, ingest_last
from costs.models import AwsAnomaly, CostForecast, CostRecord, DailyCost, Dimension
from costs.periods import utc_today
from tests.costs.conftest import AWS_SERVICES, TAGS
from tests.stubs.cost_explorer import error

EC2 = "Amazon Elastic Compute Cloud - Compute"


def stored_total(start, end, **filters) -> Decimal:
    return CostRecord.objects.filter(day__range=(start, end), **filters).aggregate(s=Sum("amount"))["s"] or Decimal(0)


def test_backfill_asks_for_the_days_grouped_by_aws_service_and_tag_and_follows_every_page(costs_60_days):
    run = ingest_last(60)
    today = utc_today()
    pages = costs_60_days.requests("GetCostAndUsage")
    groups = 60 * len(AWS_SERVICES) * len(TAGS)
    assert len(pages) == -(-groups // costs_60_days.page_size)  # every page, once
    first = pages[0].json()
    assert first == {
        "TimePeriod": {"Start": str(today - timedelta(days=59)), "End": str(today + timedelta(days=1))},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": "service"}],
    }
    assert [p.json().get("NextPageToken") for p in pages] == [None, *(str(n * 50) for n in range(1, len(pages)))]
    assert CostRecord.objects.count() == groups
    assert stored_total(today - timedelta(days=59), today) == costs_60_days.total(today - timedelta(days=59), today)
    # A forecast and the anomaly findings are asked for once each, because the run reaches today.
    assert len(costs_60_days.requests("GetCostForecast")) == 1
    assert len(costs_60_days.requests("GetAnomalies")) == 1
    assert run.requests == len(costs_60_days.stub.calls)


def test_no_request_is_sent_twice_and_the_count_is_logged(costs_60_days, caplog):
    caplog.set_level(logging.INFO, "chatops.costs")
    run = ingest_last(60)
    bodies = [(c.header("x-amz-target"), c.body) for c in costs_60_days.stub.calls]
    assert len(set(bodies)) == len(bodies)
    today = utc_today()
    assert f"Cost Explorer: {run.requests} requests for {today - timedelta(days=59)}..{today}" in caplog.messages


def test_untagged_spend_is_its_own_bucket_and_estimated_days_are_kept(costs_60_days):
    ingest_last(60)
    today = utc_today()
    assert stored_total(today - timedelta(days=59), today, service_tag="") == costs_60_days.total(
        today - timedelta(days=59), today, tag=""
    )
    estimated = set(CostRecord.objects.filter(estimated=True).values_list("day", flat=True))
    assert estimated == {today, today - timedelta(days=1)}
    assert set(DailyCost.objects.filter(dimension=Dimension.TOTAL, estimated=True).values_list("day", flat=True)) == {
        today,
        today - timedelta(days=1),
    }


def test_re_ingesting_replaces_a_revised_day_and_never_duplicates(costs_60_days):
    ingest_last(60)
    rows = CostRecord.objects.count()
    yesterday = utc_today() - timedelta(days=1)
    costs_60_days.add(yesterday, EC2, "api", "100.00")  # Cost Explorer revised yesterday
    costs_60_days.estimated.discard(yesterday)
    call_command("costs_backfill", "--days", "3", stdout=StringIO())
    assert CostRecord.objects.count() == rows
    assert stored_total(yesterday, yesterday) == costs_60_days.total(yesterday, yesterday)
    assert not CostRecord.objects.filter(day=yesterday, estimated=True).exists()
    total = DailyCost.objects.get(dimension=Dimension.TOTAL, day=yesterday)
    assert total.amount == costs_60_days.total(yesterday, yesterday)


def test_a_group_gone_from_a_revised_day_is_gone_here_too(costs_60_days):
    ingest_last(60)
    yesterday = utc_today() - timedelta(days=1)
    del costs_60_days.costs[yesterday, "AWS Lambda", "worker"]
    ingest_last(3)
    assert not CostRecord.objects.filter(day=yesterday, aws_service="AWS Lambda", service_tag="worker").exists()
    assert not DailyCost.objects.filter(
        day=yesterday, dimension=Dimension.SERVICE_TAG, key="worker", amount=Decimal(0)
    ).exists()


def test_a_day_without_spend_is_known_as_zero(explorer, catalog):
    ingest_last(2)
    assert CostRecord.objects.count() == 0
    assert list(DailyCost.objects.values_list("dimension", "amount")) == [("total", Decimal(0))] * 2


def test_the_first_real_ingestion_removes_the_demo_costs(costs_60_days):
    assert seed_costs() > 0
    ingest_last(3)
    assert not CostRecord.objects.filter(demo=True).exists()
    assert not DailyCost.objects.filter(demo=True).exists()
    assert seed_costs() == 0  # and demo costs never come back over real ones


def test_aws_forecast_and_anomaly_findings_are_kept(costs_60_days):
    costs_60_days.forecast = Decimal("1234.5")
    costs_60_days.anomalies = [
        {
            "AnomalyId": f"anomaly-{n}",
            "AnomalyStartDate": str(utc_today() - timedelta(days=2)),
            "DimensionValue": "web-app",
            "RootCauses": [{"Service": EC2, "Region": "us-east-1"}],
            "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.8},
            "Impact": {"MaxImpact": 90.0, "TotalImpact": 120.5},
            "MonitorArn": "arn:aws:ce::123456789012:anomalymonitor/abc",
        }
        for n in range(3)
    ]
    run = ingest_last(3)
    assert run.forecast == Decimal("1234.5")
    forecast = CostForecast.objects.get(made_on=utc_today())
    assert forecast.amount == Decimal("1234.5")
    assert forecast.start == utc_today()
    assert costs_60_days.requests("GetCostForecast")[0].json()["Metric"] == "UNBLENDED_COST"
    assert len(costs_60_days.requests("GetAnomalies")) == 3  # one finding a page: every page followed
    assert AwsAnomaly.objects.count() == 3
    assert AwsAnomaly.objects.get(anomaly_id="anomaly-0").total_impact == Decimal("120.5")


def test_an_old_backfill_asks_for_no_forecast(costs_60_days):
    today = utc_today()
    ingest(today - timedelta(days=40), today - timedelta(days=20))
    assert costs_60_days.requests("GetCostForecast") == []
    assert costs_60_days.requests("GetAnomalies") == []


def test_a_refusal_from_cost_explorer_stops_the_backfill_with_its_reason(costs_60_days):
    costs_60_days.stub.route("POST", r"/", lambda call: error("AccessDeniedException", "not allowed ce:Get"))
    with pytest.raises(CommandError, match="AccessDeniedException"):
        call_command("costs_backfill", "--days", "5", stdout=StringIO())
    assert CostRecord.objects.count() == 0


def test_backfill_without_aws_credentials_says_how_to_connect(catalog, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(CommandError, match="no AWS credentials: set AWS_ACCESS_KEY_ID"):
        call_command("costs_backfill", "--days", "5")


@pytest.mark.parametrize("days", ["0", "401"])
def test_backfill_refuses_a_day_count_out_of_range(catalog, days):
    with pytest.raises(CommandError, match="--days must be between 1 and 400"):
        call_command("costs_backfill", "--days", days)
