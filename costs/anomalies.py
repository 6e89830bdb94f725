"""Our own cost anomaly detection: a day that stands out against the same service's previous weeks.

Each of our services' daily spend is compared with the 14 to 28 days before it by a robust z-score
(median and median absolute deviation, so one earlier spike or a weekly rhythm does not blind it). A day
is an anomaly when it is at least `THRESHOLD` spreads above the usual level *and* at least `MIN_CHANGE`
dollars above it, so that small services wobbling by cents never alarm. Estimated days count: yesterday
is usually estimated, and it is the day people want to hear about.

Days are judged when they are written (`costs.store`, with `judge`), and the verdicts kept in
`DailyAnomaly`: a question about a month reads the few days that stand out, not every tag's series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from statistics import median

from chatops_site.catalog.models import Service
from chatops_site.deploys.models import Deployment
from costs.models import CostRecord, DailyAnomaly
from costs.tags import name_of, service_names

LOOKBACK = 28  # days of history a day is compared with
MIN_HISTORY = 14  # fewer days known before it: no verdict
THRESHOLD = 3.5  # robust z-score
MIN_CHANGE = 10.0  # USD a day above the usual level
# A flat history has little or no spread; 10% of its level (or a cent) stands in for it, so a day
# must be at least 35% above the usual level to count (the threshold times this floor).
RELATIVE_SPREAD_FLOOR = 0.1
SPREAD_FLOOR = 0.01
DEPLOY_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class Spike:
    usual: float  # the median of the days before
    score: float


@dataclass
class Anomaly:
    """One service's day that cost far more than usual, with what changed just before it."""

    day: date
    service: str  # our service's name, or the untagged / unknown-tag bucket
    tag: str  # the cost allocation tag value behind it
    amount: Decimal
    usual: Decimal
    score: float
    estimated: bool
    driver: str = ""  # the AWS service whose spend grew most that day
    deployments: list[Deployment] = field(default_factory=list)

    @property
    def change(self) -> Decimal:
        return self.amount - self.usual


def spike(value: float, history: list[float]) -> Spike | None:
    """The spike `value` makes against `history` (oldest first), or None when it is ordinary."""
    history = history[-LOOKBACK:]
    if len(history) < MIN_HISTORY:
        return None
    usual = median(history)
    if value - usual < max(MIN_CHANGE, THRESHOLD * RELATIVE_SPREAD_FLOOR * abs(usual)):
        return None  # too small to pass whatever the spread: spare computing it
    spread = 1.4826 * median(abs(h - usual) for h in history)  # MAD scaled to a standard deviation
    scale = max(spread, RELATIVE_SPREAD_FLOOR * abs(usual), SPREAD_FLOOR)
    score = (value - usual) / scale
    if score >= THRESHOLD and value - usual >= MIN_CHANGE:
        return Spike(usual, score)
    return None


def judge(
    known: list[date], series: dict[str, dict[date, float]], start: date, end: date
) -> Iterator[tuple[date, str, float, Spike]]:
    """(day, tag, spend, spike) for each known day from `start` to `end` on which a tag's spend stands out.

    A day is compared with the known days among the `LOOKBACK` days before it; on a known day without a
    row for a tag, that tag spent nothing. `known` must reach `LOOKBACK` days before `start`.
    """
    days = sorted(known)
    for tag, spent in series.items():
        values = [spent.get(day, 0.0) for day in days]
        oldest = 0  # index of the first day still inside the look-back window
        for index, day in enumerate(days):
            while days[oldest] < day - timedelta(days=LOOKBACK):
                oldest += 1
            if start <= day <= end:
                verdict = spike(values[index], values[oldest:index])
                if verdict is not None:
                    yield day, tag, values[index], verdict


def find(start: date, end: date, tags: list[str] | None = None) -> list[Anomaly]:
    """Anomalies on the days `start`..`end`, for every service tag (or only `tags`), biggest first.

    Reads the verdicts `costs.store` worked out when the days were written (`DailyAnomaly`).
    """
    rows = DailyAnomaly.objects.filter(day__range=(start, end)).order_by("day", "tag")
    if tags is not None:
        rows = rows.filter(tag__in=tags)
    names = service_names()
    found = [_anomaly(row.day, row.tag, names, row.amount, Spike(row.usual, row.score), row.estimated) for row in rows]
    found.sort(key=lambda a: a.change, reverse=True)
    for anomaly in found:
        anomaly.driver = _driver(anomaly.day, anomaly.tag)
        anomaly.deployments = deployments_before(anomaly.service, anomaly.day)
    return found


def _anomaly(day: date, tag: str, names: dict[str, str], value: float, verdict: Spike, estimated: bool) -> Anomaly:
    cents = Decimal("0.01")
    return Anomaly(
        day=day,
        service=name_of(tag, names),
        tag=tag,
        amount=Decimal(str(value)).quantize(cents),
        usual=Decimal(str(verdict.usual)).quantize(cents),
        score=verdict.score,
        estimated=estimated,
    )


def _driver(day: date, tag: str) -> str:
    """The AWS service whose spend for this tag rose most that day against its own usual level."""
    by_aws: dict[str, dict[date, Decimal]] = defaultdict(dict)
    records = CostRecord.objects.filter(service_tag=tag, day__range=(day - timedelta(days=LOOKBACK), day))
    for aws, when, amount in records.values_list("aws_service", "day", "amount"):
        by_aws[aws][when] = amount
    days = sorted({when for spent in by_aws.values() for when in spent} - {day})

    def rise(aws: str) -> Decimal:
        spent = by_aws[aws]
        return spent.get(day, Decimal(0)) - (median([spent.get(d, Decimal(0)) for d in days]) if days else 0)

    return max(by_aws, key=rise, default="")


def deployments_before(service_name: str, day: date) -> list[Deployment]:
    """Deployments of the service that started in the 48 hours before the spike day, or on that day."""
    service = Service.objects.filter(name=service_name).first()
    if service is None:
        return []
    day_start = datetime.combine(day, time.min, tzinfo=UTC)
    return list(
        Deployment.objects.filter(
            target__service=service,
            started_at__gte=day_start - DEPLOY_WINDOW,
            started_at__lt=day_start + timedelta(days=1),
        )
        .select_related("target__environment", "requested_by")
        .order_by("started_at", "id")
    )
