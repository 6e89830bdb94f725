"""How cost numbers read in chat: the `/cost` answer, an anomaly, money and changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bots.types import Reply
from chatops_site.deploys.models import Deployment
from costs.anomalies import Anomaly
from costs.reports import BudgetStatus, CostSummary, Mover
from costs.tags import UNTAGGED

TOP = 5
MAX_ANOMALIES = 5
MAX_DEPLOYMENTS = 3  # the latest ones before a spike; the rest are counted
PERIOD_NAMES = {"today": "today so far", "yesterday": "yesterday", "7d": "last 7 days", "month": "this month"}
BUDGET_ICONS = {"over": "🚨", "warning": "⚠️", "projected over": "📈", "ok": "✅"}


def money(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def signed(amount: Decimal) -> str:
    return ("+" if amount >= 0 else "") + money(amount)


def change(change: Decimal | None, pct: float | None) -> str:
    if change is None:
        return "no change known"
    if pct is None:
        return signed(change) if change else "no change"
    return f"{signed(change)} ({pct:+.1f}%)"


def period_name(summary: CostSummary) -> str:
    name = PERIOD_NAMES.get(summary.period)
    if name is None:  # "30d"
        name = f"last {summary.days} days"
    return name


def cost_reply(summary: CostSummary) -> Reply:
    """The `/cost` answer: the period's dates and total, its change, where the money went, what stands out."""
    whose = summary.service or "AWS"
    estimated = " (estimated)" if summary.estimated else ""
    text = (
        f"💰 {whose} costs {period_name(summary)}, {_dates(summary.start, summary.end)} (UTC): "
        f"{money(summary.total)}{estimated}"
    )
    fields = [("Change", f"{change(summary.change, summary.change_pct)} vs {_before(summary)}")]
    fields.append(("Top AWS services", ranked(summary.by_aws_service) or "no spend"))
    if summary.service is None:
        fields.append(("Top services", ranked(summary.by_service) or "no spend"))
    if summary.movers:
        fields.append(("Top movers", movers(summary.movers)))
    fields.append(("Anomalies", anomaly_lines(summary) or "none"))
    if summary.period == "month" or summary.budget is not None:
        fields += month_fields(summary)
    notes = _notes(summary)
    if notes:
        fields.append(("Note", notes))
    return Reply(text, fields=fields, links=deployment_links(summary.anomalies))


def ranked(amounts: list[tuple[str, Decimal]]) -> str:
    shown = ", ".join(f"{name} {money(amount)}" for name, amount in amounts[:TOP])
    rest = amounts[TOP:]
    if rest:
        shown += f" (+{len(rest)} more: {money(sum((amount for _, amount in rest), Decimal(0)))})"
    return shown


def movers(items: list[Mover]) -> str:
    parts = []
    for mover in items:
        pct = f" ({mover.change / mover.previous * 100:+.0f}%)" if mover.previous else " (new)"
        parts.append(f"{mover.name} {signed(mover.change)}{pct}")
    return ", ".join(parts)


def anomaly_lines(summary: CostSummary) -> str:
    lines = [describe_anomaly(a) for a in summary.anomalies[:MAX_ANOMALIES]]
    if len(summary.anomalies) > MAX_ANOMALIES:
        lines.append(f"... and {len(summary.anomalies) - MAX_ANOMALIES} more")
    for finding in summary.aws_anomalies[:MAX_ANOMALIES]:
        causes = ", ".join(
            " ".join(filter(None, [cause.get("Service"), cause.get("Region")])) for cause in finding.root_causes[:2]
        )
        lines.append(
            f"🔎 AWS Cost Anomaly Detection: {finding.dimension_value or 'account'} since {finding.start_date}, "
            f"impact {money(finding.total_impact)}" + (f" ({causes})" if causes else "")
        )
    return "\n".join(lines)


def describe_anomaly(anomaly: Anomaly) -> str:
    """One line: whose spend jumped, on which day, by how much, driven by what, after which deployments."""
    estimated = " (estimated)" if anomaly.estimated else ""
    driver = f", mostly {anomaly.driver}" if anomaly.driver else ""
    line = (
        f"⚠️ {anomaly.service} on {anomaly.day}{estimated}: {money(anomaly.amount)} against a usual "
        f"{money(anomaly.usual)} ({signed(anomaly.change)}{driver})"
    )
    if anomaly.deployments:
        latest = anomaly.deployments[::-1][:MAX_DEPLOYMENTS]
        line += "; deployed in the 48 hours before: " + "; ".join(_deployment(d) for d in latest)
        if len(anomaly.deployments) > MAX_DEPLOYMENTS:
            line += f" (and {len(anomaly.deployments) - MAX_DEPLOYMENTS} earlier)"
    elif anomaly.service != UNTAGGED:
        line += "; no deployment in the 48 hours before"
    return line


def _deployment(deployment: Deployment) -> str:
    # Only started deployments are listed (`deployments_before` selects them by `started_at`).
    when = deployment.started_at.strftime("%m-%d %H:%M UTC") if deployment.started_at else "not started"
    state = "" if deployment.state == "succeeded" else f", {deployment.get_state_display()}"
    return (
        f"#{deployment.pk} {deployment.version} to {deployment.target.environment.name} by "
        f"{deployment.requested_by.get_username()} at {when}{state}"
    )


def deployment_links(anomalies: list[Anomaly]) -> list[tuple[str, str]]:
    return [
        (f"#{d.pk} {anomaly.service} {d.version}", d.provider_run_url)
        for anomaly in anomalies[:MAX_ANOMALIES]
        for d in anomaly.deployments[::-1][:MAX_DEPLOYMENTS]
        if d.provider_run_url
    ]


def month_fields(summary: CostSummary) -> list[tuple[str, str]]:
    spent = f"{money(summary.month_to_date)} since {summary.month_start}"
    if summary.budget:
        spent += f", {summary.month_to_date / summary.budget * 100:.0f}% of the {money(summary.budget)} budget"
        if summary.service is None:
            spent += " (all services' budgets)"
    fields = [("Month to date", spent)]
    if summary.forecast is not None:
        fields.append(("Month-end forecast", f"{money(summary.forecast.amount)} ({summary.forecast.label})"))
    warnings = budget_warnings(summary.budgets)
    if warnings:
        fields.append(("Budgets", warnings))
    return fields


def budget_warnings(budgets: list[BudgetStatus]) -> str:
    lines = []
    for status in budgets:
        if status.level == "ok":
            continue
        words = {
            "over": "over budget",
            "warning": "past 80% of its budget",
            "projected over": f"on track to pass its budget ({money(status.projected)} projected)",
        }[status.level]
        lines.append(
            f"{BUDGET_ICONS[status.level]} {status.service} {words}: {money(status.spent)} of "
            f"{money(status.budget)} ({status.used * 100:.0f}%)"
        )
    return "\n".join(lines)


def _dates(start: date, end: date) -> str:
    return str(start) if start == end else f"{start} to {end}"


def _before(summary: CostSummary) -> str:
    dates = _dates(summary.previous_start, summary.previous_end)
    if summary.change is None:
        days = (summary.previous_end - summary.previous_start).days + 1
        return f"{dates}: cost data covers {summary.previous_days_with_data} of its {days} days"
    return f"{money(summary.previous_total)} for {dates}"


def _notes(summary: CostSummary) -> str:
    notes = []
    if summary.days_with_data < summary.days:
        notes.append(
            f"cost data covers {summary.days_with_data} of the {summary.days} days; "
            f"`manage.py costs_backfill --days N` fetches history from Cost Explorer"
        )
    if summary.demo:
        notes.append("demo data from seed_demo; the first real ingestion replaces it")
    return "; ".join(notes)
