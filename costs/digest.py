"""The morning digest: yesterday's costs, the week's trend, month to date against budgets, anomalies.

It goes to every channel routed for `cost_digest`; each anomaly also goes, on its own, to the channels
routed for `cost_anomaly` (of that service, or of all) that did not already hear it in the digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from bots.notify import notify
from bots.types import Reply
from chatops_site.catalog.models import RouteEvent, Service
from chatops_site.webhooks import events as webhooks
from costs import replies
from costs.anomalies import Anomaly
from costs.periods import parse_period, utc_today
from costs.replies import money
from costs.reports import summary, totals_by_day

log = logging.getLogger("chatops.costs")

SPARKS = "▁▂▃▄▅▆▇█"


@dataclass
class Digest:
    day: date
    reply: Reply
    anomalies: list[Anomaly]
    posted_to: list[str] = field(default_factory=list)


def build(today: date | None = None) -> Digest | None:
    """The digest for yesterday (UTC), or None while there is no cost data for it at all."""
    today = today or utc_today()
    day = summary("yesterday", today=today)
    if not day.days_with_data:
        return None
    week = parse_period("7d", today)
    days = totals_by_day(week.previous().start, week.end)
    week_total = sum((a for d, a in days.items() if d >= week.start), Decimal(0))
    before_total = sum((a for d, a in days.items() if d < week.start), Decimal(0))
    if len(days) == 2 * week.days:
        week_change = replies.change(week_total - before_total, _pct(week_total, before_total))
    else:
        week_change = replies.change(None, None)
    estimated = " (estimated)" if day.estimated else ""
    text = (
        f"☀️ Cost digest for {day.start} (UTC): {money(day.total)}{estimated}, "
        f"{replies.change(day.change, day.change_pct)} vs the day before"
    )
    fields = [
        (
            "Last 7 days",
            f"{money(week_total)}, {week_change} vs the 7 days before  "
            f"{sparkline({d: a for d, a in days.items() if d >= week.start}, week.start, week.end)}",
        ),
        ("Top services yesterday", replies.ranked(day.by_service) or "no spend"),
    ]
    if day.movers:
        fields.append(("Top movers vs the day before", replies.movers(day.movers)))
    fields += replies.month_fields(day)
    fields.append(("Anomalies", replies.anomaly_lines(day) or "none"))
    if day.demo:
        fields.append(("Note", "demo data from seed_demo; the first real ingestion replaces it"))
    reply = Reply(text, fields=fields, links=replies.deployment_links(day.anomalies), public=True)
    reply.key = f"cost-digest:{day.start}"
    return Digest(day.start, reply, day.anomalies)


def send(today: date | None = None) -> Digest | None:
    """Build the digest and post it, and each anomaly to its own routes; one channel failing spares the rest."""
    digest = build(today)
    if digest is None:
        log.info("no cost data for yesterday: no digest")
        return None
    deliveries = notify(RouteEvent.COST_DIGEST, digest.reply)
    digest.posted_to = [delivery.channel for delivery in deliveries if delivery.ok]
    for anomaly in digest.anomalies:
        service = Service.objects.filter(name=anomaly.service).first()
        notify(RouteEvent.COST_ANOMALY, anomaly_reply(anomaly), service=service, fallback=False, skip=digest.posted_to)
        webhooks.cost_anomaly(anomaly)
    log.info("cost digest for %s: %s", digest.day, digest.reply.plain().replace("\n", " | "))
    return digest


def anomaly_reply(anomaly: Anomaly) -> Reply:
    reply = Reply(replies.describe_anomaly(anomaly), links=replies.deployment_links([anomaly]), public=True)
    reply.key = f"cost-anomaly:{anomaly.service}:{anomaly.day}"
    return reply


def sparkline(totals: dict[date, Decimal], start: date, end: date) -> str:
    """The daily totals from `start` to `end` as bars, lowest to highest; a blank for a day without data."""
    if not totals:
        return ""
    low, high = min(totals.values()), max(totals.values())
    bars = []
    for offset in range((end - start).days + 1):
        amount = totals.get(start + timedelta(days=offset))
        if amount is None:
            bars.append(" ")
        else:
            bars.append(SPARKS[0 if high == low else int((amount - low) / (high - low) * (len(SPARKS) - 1))])
    return "".join(bars)


def _pct(now: Decimal, before: Decimal) -> float | None:
    return float((now - before) / before * 100) if before else None
