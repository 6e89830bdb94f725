"""Cost Explorer: the only module of `costs` that talks to AWS.

Cost Explorer bills $0.01 per request, and every page is a request; so one run asks for its whole date
range at once (DAILY, grouped by AWS service and by our cost allocation tag), follows every page, counts
what it sent, and refuses to send the same request twice.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from integrations import aws

log = logging.getLogger("chatops.costs")

# Cost Explorer serves every region from us-east-1.
REGION = "us-east-1"
# GetCostForecast spells the metrics of GetCostAndUsage differently; usage metrics have no forecast.
FORECAST_METRICS = {
    "UnblendedCost": "UNBLENDED_COST",
    "BlendedCost": "BLENDED_COST",
    "AmortizedCost": "AMORTIZED_COST",
    "NetUnblendedCost": "NET_UNBLENDED_COST",
    "NetAmortizedCost": "NET_AMORTIZED_COST",
}
ANOMALY_HISTORY = timedelta(days=89)  # GetAnomalies looks back at most 90 days


class CostExplorerError(Exception):
    """Cost Explorer could not answer; the message says why, without credentials."""


def configured() -> bool:
    """True when boto3 finds AWS credentials (environment, profile, instance role...)."""
    return boto3.session.Session().get_credentials() is not None


class Conversation:
    """One run's requests to Cost Explorer: counted, and never the same one twice."""

    def __init__(self) -> None:
        self.client = aws.client("ce", REGION)
        self.requests = 0
        self._sent: set[str] = set()

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        fingerprint = f"{operation} {json.dumps(params, sort_keys=True)}"
        if fingerprint in self._sent:
            raise CostExplorerError(f"{operation} would be sent twice; Cost Explorer bills every request")
        self._sent.add(fingerprint)
        self.requests += 1
        return getattr(self.client, operation)(**params)


def daily_costs(talk: Conversation, start: date, end: date) -> tuple[dict[tuple[date, str, str], Decimal], set[date]]:
    """Spend per (day, AWS service, tag value) for `start`..`end`, and the days AWS marks estimated."""
    metric = settings.COST_METRIC
    request = {
        "TimePeriod": {"Start": start.isoformat(), "End": (end + timedelta(days=1)).isoformat()},  # End excluded
        "Granularity": "DAILY",
        "Metrics": [metric],
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "SERVICE"},
            {"Type": "TAG", "Key": settings.COST_ALLOCATION_TAG},
        ],
    }
    costs: dict[tuple[date, str, str], Decimal] = defaultdict(Decimal)
    estimated: set[date] = set()
    token = None
    while True:
        try:
            page = talk.call("get_cost_and_usage", **request, **({"NextPageToken": token} if token else {}))
        except (ClientError, BotoCoreError) as exc:
            raise CostExplorerError(f"GetCostAndUsage failed: {exc}") from exc
        for result in page.get("ResultsByTime", []):
            day = date.fromisoformat(result["TimePeriod"]["Start"])
            if result.get("Estimated"):
                estimated.add(day)
            # A day can continue on the next page, so amounts are added up rather than set.
            for group in result.get("Groups", []):
                aws_service, tag_key = group["Keys"]
                costs[day, aws_service, _tag_value(tag_key)] += Decimal(group["Metrics"][metric]["Amount"])
        token = page.get("NextPageToken")
        if not token:
            return dict(costs), estimated


def _tag_value(key: str) -> str:
    """`service$web-app` -> `web-app`; `service$` (no tag on that spend) -> ``."""
    return key.partition("$")[2] if "$" in key else key


def month_forecast(talk: Conversation, today: date, month_end: date) -> Decimal | None:
    """AWS's forecast of the spend from today to the month's end, or None where AWS gives none."""
    metric = FORECAST_METRICS.get(settings.COST_METRIC)
    if metric is None:
        return None
    try:
        answer = talk.call(
            "get_cost_forecast",
            TimePeriod={"Start": today.isoformat(), "End": (month_end + timedelta(days=1)).isoformat()},
            Metric=metric,
            Granularity="MONTHLY",
        )
    except (ClientError, BotoCoreError) as exc:  # no permission, too little history...
        log.warning("Cost Explorer gave no forecast (%s); reports use our own projection", _reason(exc))
        return None
    return Decimal(answer["Total"]["Amount"])


def anomalies(talk: Conversation, start: date, end: date) -> list[dict]:
    """AWS Cost Anomaly Detection findings that started in `start`..`end`; none without monitors."""
    start = max(start, end - ANOMALY_HISTORY)
    found: list[dict] = []
    token = None
    while True:
        params = {"DateInterval": {"StartDate": start.isoformat(), "EndDate": end.isoformat()}}
        try:
            page = talk.call("get_anomalies", **params, **({"NextPageToken": token} if token else {}))
        except (ClientError, BotoCoreError) as exc:
            log.warning("Cost Explorer gave no anomaly findings (%s)", _reason(exc))
            return found
        found += page.get("Anomalies", [])
        token = page.get("NextPageToken")
        if not token:
            return found


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "error")
    return exc.__class__.__name__
