"""What the costs page shows, read from `costs.reports` (the numbers `/cost` and the API use too)."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.utils.safestring import SafeString

from chatops_site.catalog.models import Service
from chatops_site.web import charts
from costs import reports

PERIODS = [("30d", "last 30 days"), ("7d", "last 7 days"), ("90d", "last 90 days"), ("month", "this month"),
           ("365d", "last 365 days")]  # fmt: skip
AWS_SERIES = len(charts.PALETTE)  # the biggest AWS services get a colour each; the rest are "Other"
TRENDS = 20  # per-service trend lines, biggest spenders first


class CostsForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False)
    service = forms.ModelChoiceField(
        Service.objects.all(), to_field_name="name", required=False, empty_label="every service"
    )


@dataclass
class Trend:
    name: str
    total: Decimal
    line: SafeString


@dataclass
class CostsPage:
    """What the page shows, drawn: the day rows behind it are not kept (a year is thousands of them)."""

    summary: reports.CostSummary
    chart: SafeString = field(default_factory=SafeString)
    legend: list[tuple[str, str]] = field(default_factory=list)
    trends: list[Trend] = field(default_factory=list)


def build(period: str, service: Service | None) -> CostsPage:
    summary = reports.summary(period, service)
    days = [summary.start + timedelta(days=i) for i in range(summary.days)]
    page = CostsPage(summary)
    series = _stack(reports.daily(summary.start, summary.end, service, group_by="aws_service"))
    colour = charts.colours(list(series))
    marks = {a.day: _mark(a) for a in reversed(summary.anomalies)}
    page.chart = charts.stacked_bars(days, series, colour, marks)
    page.legend = [(name, colour[name]) for name in series]
    if service is None:
        lines = reports.trend_lines(summary, trended(summary))
        page.trends = [
            Trend(name, total, charts.sparkline([lines[name].get(day, 0.0) for day in days]))
            for name, total in summary.by_service[:TRENDS]
        ]
    return page


def trended(summary: reports.CostSummary) -> list[str]:
    """The services with a trend line: the biggest spenders only, a year of every service is too much to draw."""
    return [name for name, _ in summary.by_service[:TRENDS]]


def _stack(rows: list[reports.DailyRow]) -> dict[str, dict[date, Decimal]]:
    """AWS service -> day -> amount, biggest first; the small ones summed as "Other"."""
    by_name: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        by_name[row.group][row.day] += row.amount
    ranked = sorted(by_name, key=lambda name: -sum(by_name[name].values()))
    series = {name: by_name[name] for name in ranked[: AWS_SERIES - 1]}
    rest = ranked[AWS_SERIES - 1 :]
    if len(rest) == 1:
        series[rest[0]] = by_name[rest[0]]
    elif rest:
        other: dict[date, Decimal] = defaultdict(Decimal)
        for name in rest:
            for day, amount in by_name[name].items():
                other[day] += amount
        series["Other"] = other
    return series


def _mark(anomaly) -> str:
    near = ", ".join(f"#{d.pk} {d.target.service.name} {d.version}" for d in anomaly.deployments)
    text = f"{anomaly.day}: {anomaly.service} ${anomaly.amount:,.2f} (usually ${anomaly.usual:,.2f})"
    return text + (f"; deploys before it: {near}" if near else "")


def write_csv(summary: reports.CostSummary, service: Service | None, out) -> None:
    """The rows behind the page's chart and trends: day, grouping, group, USD, estimated."""
    writer = csv.writer(out)
    writer.writerow(["day", "group_by", "group", "amount_usd", "estimated"])
    by_aws = reports.daily(summary.start, summary.end, service, group_by="aws_service")
    by_service = reports.services_daily(summary, trended(summary)) if service is None else []
    for group_by, rows in (("aws_service", by_aws), ("service", by_service)):
        for row in rows:
            writer.writerow([row.day.isoformat(), group_by, row.group, f"{row.amount:.2f}", str(row.estimated).lower()])
