"""Ingestion: Cost Explorer -> cost rows, plus AWS's month-end forecast and anomaly findings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from costs import explorer
from costs.models import AwsAnomaly, CostForecast
from costs.periods import month_bounds, utc_today
from costs.store import replace_days

log = logging.getLogger("chatops.costs")

RECENT_DAYS = 3  # Cost Explorer revises the last days; the daily run fetches them again


@dataclass
class Ingestion:
    """What one run did: days, rows written, and the Cost Explorer requests it paid for."""

    start: date
    end: date
    rows: int
    estimated: list[date]
    requests: int
    forecast: Decimal | None = None
    aws_anomalies: int = 0

    def describe(self) -> str:
        estimated = ", ".join(d.isoformat() for d in self.estimated) or "none"
        return (
            f"Ingested {self.rows} cost rows for {self.start} to {self.end} (estimated days: {estimated}) "
            f"with {self.requests} Cost Explorer request{'s' if self.requests != 1 else ''}."
        )


def ingest_last(days: int, today: date | None = None) -> Ingestion:
    """The `days` UTC days ending today (today so far included)."""
    today = today or utc_today()
    return ingest(today - timedelta(days=days - 1), today, today=today)


def ingest(start: date, end: date, today: date | None = None) -> Ingestion:
    """Replace the days `start`..`end` with what Cost Explorer says; refresh forecast and findings if recent."""
    today = today or utc_today()
    talk = explorer.Conversation()
    try:
        costs, estimated = explorer.daily_costs(talk, start, end)
        rows = ((day, aws_service, tag, amount) for (day, aws_service, tag), amount in costs.items())
        run = Ingestion(start, end, replace_days(start, end, rows, estimated), sorted(estimated), 0)
        if end >= today - timedelta(days=1):
            run.forecast = _refresh_forecast(talk, today)
            run.aws_anomalies = _refresh_anomalies(talk, start, min(end, today))
    finally:
        log.info("Cost Explorer: %d requests for %s..%s", talk.requests, start, end)
    run.requests = talk.requests
    return run


def _refresh_forecast(talk: explorer.Conversation, today: date) -> Decimal | None:
    month_end = month_bounds(today)[1]
    amount = explorer.month_forecast(talk, today, month_end)
    if amount is not None:
        CostForecast.objects.update_or_create(
            made_on=today, defaults={"start": today, "end": month_end + timedelta(days=1), "amount": amount}
        )
    return amount


def _refresh_anomalies(talk: explorer.Conversation, start: date, end: date) -> int:
    findings = explorer.anomalies(talk, start, end)
    for finding in findings:
        impact = finding.get("Impact", {})
        AwsAnomaly.objects.update_or_create(
            anomaly_id=finding["AnomalyId"],
            defaults={
                "start_date": date.fromisoformat(finding["AnomalyStartDate"][:10]),
                "end_date": date.fromisoformat(finding["AnomalyEndDate"][:10])
                if finding.get("AnomalyEndDate")
                else None,
                "dimension_value": finding.get("DimensionValue", ""),
                "root_causes": finding.get("RootCauses", []),
                "total_impact": Decimal(str(impact.get("TotalImpact", 0))),
                "score": float(finding.get("AnomalyScore", {}).get("CurrentScore", 0)),
                "monitor_arn": finding.get("MonitorArn", ""),
            },
        )
    return len(findings)
