"""The numbers every cost answer is made of: `/cost`, the digest, the dashboard and the API read them here.

Reports read our database only (the `DailyCost` sums, and `CostRecord` for one service's AWS services),
so they answer inline and cost nothing. "service" always means OUR service (catalog `Service.name`),
found in Cost Explorer by its cost tag; spend without the tag is the "(untagged)" bucket.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.db.models import FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast

from chatops_site.catalog.models import Service
from costs import anomalies
from costs.models import AwsAnomaly, CostForecast, CostRecord, DailyCost, Dimension, MonthlyCost
from costs.periods import Period, month_bounds, parse_period, utc_today
from costs.tags import name_of, service_names, tag_of

CENTS = Decimal("0.01")
TOP_MOVERS = 5
PROJECTION_DAYS = 7  # our own month-end projection: the average of the last week, to the month's end
FORECAST_MAX_AGE = timedelta(days=3)  # an older AWS forecast gives way to our projection
BUDGET_WARNING = Decimal("0.8")
DAILY_PAGE_SIZE = 1000  # rows of `daily_page()`: ten days of a hundred services, ~80 days of a dozen AWS services
GROUP_BY = {"aws_service": Dimension.AWS_SERVICE, "service": Dimension.SERVICE_TAG}


class UnknownService(ValueError):
    """The service named is not in the catalog."""


class DailyRow(NamedTuple):
    day: date
    group: str
    amount: Decimal
    estimated: bool


@dataclass
class DailyPage:
    """Some of `daily()`'s rows, in its order, and whether it has rows before and after them."""

    rows: list[DailyRow]
    more_before: bool
    more_after: bool


@dataclass
class Mover:
    """An AWS service or one of our services whose spend changed most against the previous period."""

    name: str
    kind: str  # "AWS service" | "service"
    amount: Decimal
    previous: Decimal

    @property
    def change(self) -> Decimal:
        return self.amount - self.previous


@dataclass
class Forecast:
    """The month's expected total: AWS's forecast when we have a fresh one, else our projection."""

    amount: Decimal
    source: str  # "aws" | "projection"

    @property
    def label(self) -> str:
        if self.source == "aws":
            return "AWS forecast"
        return f"our projection from the last {PROJECTION_DAYS} days' average"


@dataclass
class BudgetStatus:
    """One service's month to date against its monthly budget (catalog `Service.monthly_budget`)."""

    service: str
    budget: Decimal
    spent: Decimal
    projected: Decimal

    @property
    def used(self) -> Decimal:
        return self.spent / self.budget if self.budget else Decimal(0)

    @property
    def level(self) -> str:
        """`over` (100% spent), `warning` (80% spent), `projected over` (on track to pass it) or `ok`."""
        if self.spent >= self.budget:
            return "over"
        if self.used >= BUDGET_WARNING:
            return "warning"
        if self.projected > self.budget:
            return "projected over"
        return "ok"


@dataclass
class CostSummary:
    """Totals of a period against the previous one, where the money went, and what stands out."""

    period: str
    start: date
    end: date
    service: str | None
    total: Decimal
    previous_start: date
    previous_end: date
    previous_total: Decimal
    previous_days_with_data: int
    change: Decimal | None  # None unless every day of the previous period is known
    change_pct: float | None
    by_aws_service: list[tuple[str, Decimal]]
    by_service: list[tuple[str, Decimal]]
    movers: list[Mover]
    anomalies: list[anomalies.Anomaly]
    aws_anomalies: list[AwsAnomaly]
    days: int
    days_with_data: int
    estimated_days: list[date]
    demo: bool
    month_start: date
    month_to_date: Decimal
    budget: Decimal | None  # the service's, or the sum of every service's budget
    forecast: Forecast | None
    budgets: list[BudgetStatus] = field(default_factory=list)
    # Our service's name -> the tag values that are its spend here: what `services_daily` and `trend_lines` read.
    tags_of: dict[str, list[str]] = field(default_factory=dict)

    @property
    def estimated(self) -> bool:
        return bool(self.estimated_days)


def summary(
    period: str | Period = "yesterday", service: str | Service | None = None, *, today: date | None = None
) -> CostSummary:
    """The numbers `/cost <period> [<service>]` answers with."""
    today = today or utc_today()
    current = period if isinstance(period, Period) else parse_period(period, today)
    before = current.previous()
    scoped, tags = _scope(service)
    names = service_names()
    yesterday = today - timedelta(days=1)
    month_start, month_end = month_bounds(today)
    first = min(before.start, month_start, yesterday - timedelta(days=PROJECTION_DAYS - 1))
    known = {
        day: (estimated, demo)
        for day, estimated, demo in DailyCost.objects.filter(
            dimension=Dimension.TOTAL, day__range=(first, max(current.end, yesterday))
        ).values_list("day", "estimated", "demo")
    }
    in_period = [day for day in known if current.start <= day <= current.end]
    in_before = [day for day in known if before.start <= day <= before.end]

    by_aws, by_tag = _compare(before.start, current.start, current.end, tags)
    by_service: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    tags_of: dict[str, list[str]] = defaultdict(list)
    for tag, (now, then) in by_tag.items():
        name = name_of(tag, names)
        by_service[name][0] += now
        by_service[name][1] += then
        tags_of[name].append(tag)
    total = sum((now for now, _ in by_aws.values()), Decimal(0))
    previous = sum((then for _, then in by_aws.values()), Decimal(0))
    # Against a period we know only in part, a change would mislead.
    change = total - previous if len(in_before) == before.days else None
    movers = [Mover(name, "AWS service", now, then) for name, (now, then) in by_aws.items()]
    if scoped is None:
        movers += [Mover(name, "service", now, then) for name, (now, then) in by_service.items()]
    movers = sorted((m for m in movers if m.change), key=lambda m: abs(m.change), reverse=True)[:TOP_MOVERS]

    daily = _daily_amounts(first, yesterday, tags, known)
    month_to_date = sum((daily[d] for d in daily if d >= month_start), Decimal(0))
    budgets = _budgets(scoped, month_start, month_end, yesterday, known)
    if scoped is not None:
        budget = scoped.monthly_budget
    else:
        budget = sum((b.budget for b in budgets), Decimal(0)) if budgets else None
    forecast = _forecast(scoped, daily, month_start, month_end, yesterday, today)

    return CostSummary(
        period=current.name,
        start=current.start,
        end=current.end,
        service=scoped.name if scoped else None,
        total=_cents(total),
        previous_start=before.start,
        previous_end=before.end,
        previous_total=_cents(previous),
        previous_days_with_data=len(in_before),
        change=_cents(change) if change is not None else None,
        change_pct=float(change / previous * 100) if change is not None and previous else None,
        by_aws_service=_ranked({name: now for name, (now, _) in by_aws.items()}),
        by_service=_ranked({name: now for name, (now, _) in by_service.items()}),
        movers=[Mover(m.name, m.kind, _cents(m.amount), _cents(m.previous)) for m in movers],
        anomalies=anomalies.find(current.start, current.end, tags),
        aws_anomalies=_aws_findings(current, scoped, tags),
        days=current.days,
        days_with_data=len(in_period),
        estimated_days=sorted(day for day in in_period if known[day][0]),
        demo=any(known[day][1] for day in in_period),
        month_start=month_start,
        month_to_date=_cents(month_to_date),
        budget=budget,
        forecast=forecast,
        budgets=budgets,
        tags_of=dict(tags_of),
    )


def daily(
    start: date, end: date, service: str | Service | None = None, group_by: str = "aws_service"
) -> list[DailyRow]:
    """One row per day and group (AWS service, or our service) from `start` to `end`, both included."""
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by is 'aws_service' or 'service', not '{group_by}'")
    return _daily(start, end, _scope(service)[1], group_by)


def daily_page(
    start: date,
    end: date,
    service: str | Service | None = None,
    group_by: str = "aws_service",
    *,
    after: tuple[date, str] | None = None,
    before: tuple[date, str] | None = None,
    size: int | None = None,
) -> DailyPage:
    """`daily()` a page at a time: at most `size` rows just past `after` (or just before `before`), a (day, group).

    The database reads only the days the page spans: the day `size` stored groups away bounds it, and
    those days are merged and sorted exactly as `daily()` does, so the pages add up to its rows.
    """
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by is 'aws_service' or 'service', not '{group_by}'")
    tags = _scope(service)[1]
    size = size or DAILY_PAGE_SIZE
    sums = _daily_sums(start, end, tags, group_by)
    if before is not None:
        first = _day_at(sums.filter(day__lt=before[0]), size, newest=True) or start
        rows = [row for row in _daily(first, min(before[0], end), tags, group_by) if (row.day, row.group) < before]
        if len(rows) <= size and _day_at(sums.filter(day__lt=first), 0, newest=True) is None:
            return daily_page(start, end, service, group_by, size=size)  # back at the top: a full first page
        return DailyPage(rows[-size:], more_before=True, more_after=True)
    last = _day_at(sums.filter(day__gt=after[0]) if after else sums, size, newest=False) or end
    first = max(after[0], start) if after else start
    rows = [row for row in _daily(first, last, tags, group_by) if after is None or (row.day, row.group) > after]
    more = len(rows) > size or _day_at(sums.filter(day__gt=last), 0, newest=False) is not None
    return DailyPage(rows[:size], more_before=after is not None and bool(rows), more_after=more)


def services_daily(summary: CostSummary, names: list[str]) -> list[DailyRow]:
    """`daily(..., group_by="service")` over the summary's period, of the named services only.

    What a page shows of a few services over a year is a few thousand rows, not every service's.
    """
    tags = [tag for name in names for tag in summary.tags_of.get(name, [])]
    return _daily(summary.start, summary.end, tags, "service")


def trend_lines(summary: CostSummary, names: list[str]) -> dict[str, dict[date, float]]:
    """Each named service's spend per day of the summary's period, as floats: enough to draw, not to add up."""
    services = {tag: name for name in names for tag in summary.tags_of.get(name, [])}
    lines: dict[str, dict[date, float]] = {name: {} for name in names}
    rows = DailyCost.objects.filter(
        dimension=Dimension.SERVICE_TAG, key__in=list(services), day__range=(summary.start, summary.end)
    )
    for key, day, amount in rows.values_list("key", "day", Cast("amount", FloatField())):
        line = lines[services[key]]
        line[day] = line.get(day, 0.0) + amount
    return lines


def _daily(start: date, end: date, tags: list[str] | None, group_by: str) -> list[DailyRow]:
    estimated = set(
        DailyCost.objects.filter(dimension=Dimension.TOTAL, day__range=(start, end), estimated=True).values_list(
            "day", flat=True
        )
    )
    rows = _daily_sums(start, end, tags, group_by)
    if group_by == "aws_service":  # one row per day and AWS service already; sorted here as Python sorts names
        return [DailyRow(day, group, _cents(amount), day in estimated) for day, group, amount in sorted(rows)]
    names = service_names()
    merged: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for day, key, amount in rows:
        merged[day, name_of(key, names)] += amount  # two tags of one service make one row
    return [DailyRow(day, group, _cents(amount), day in estimated) for (day, group), amount in sorted(merged.items())]


def _daily_sums(start: date, end: date, tags: list[str] | None, group_by: str) -> QuerySet:
    """(day, key, amount) of each stored group from `start` to `end`, before names are merged and sorted."""
    if tags is not None and group_by == "aws_service":
        return (
            CostRecord.objects.filter(service_tag__in=tags, day__range=(start, end))
            .values_list("day", "aws_service")
            .annotate(amount=Sum("amount"))
            .order_by("day", "aws_service")
        )
    rows = DailyCost.objects.filter(dimension=GROUP_BY[group_by], day__range=(start, end))
    if tags is not None:
        rows = rows.filter(key__in=tags)
    return rows.order_by("day", "key").values_list("day", "key", "amount")


def _day_at(sums: QuerySet, count: int, newest: bool) -> date | None:
    """The day of the stored group `count` places in from the oldest (or newest) of `sums`; None if fewer."""
    return next((row[0] for row in sums.order_by("-day" if newest else "day")[count : count + 1]), None)


def totals_by_day(start: date, end: date, service: str | Service | None = None) -> dict[date, Decimal]:
    """Each ingested day's total from `start` to `end` (of one service, or of everything)."""
    tags = _scope(service)[1]
    known = DailyCost.objects.filter(dimension=Dimension.TOTAL, day__range=(start, end)).values_list("day", flat=True)
    return {day: _cents(amount) for day, amount in sorted(_daily_amounts(start, end, tags, known).items())}


def _scope(service: str | Service | None) -> tuple[Service | None, list[str] | None]:
    """The catalog service asked about and the tag values that are its spend (None, None: everything)."""
    if service is None or service == "":
        return None, None
    if not isinstance(service, Service):
        found = Service.objects.filter(name=str(service).lower()).first()
        if found is None:
            raise UnknownService(f"unknown service '{service}'")
        service = found
    return service, [tag_of(service)]


def _compare(
    before: date, start: date, end: date, tags: list[str] | None
) -> tuple[dict[str, tuple[Decimal, Decimal]], dict[str, tuple[Decimal, Decimal]]]:
    """Spend per AWS service and per tag, in the period (`start`..`end`) and in the one before it."""
    if tags is None:
        now, then = _group_sums(start, end), _group_sums(before, start - timedelta(days=1))
        grouped: dict[str, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
        for dimension, key in sorted(now.keys() | then.keys()):
            grouped[dimension][key] = (now.get((dimension, key), Decimal(0)), then.get((dimension, key), Decimal(0)))
        return grouped[Dimension.AWS_SERVICE], grouped[Dimension.SERVICE_TAG]
    now_sum = Sum("amount", filter=Q(day__gte=start), default=Decimal(0))
    then_sum = Sum("amount", filter=Q(day__lt=start), default=Decimal(0))
    records = CostRecord.objects.filter(service_tag__in=tags, day__range=(before, end))
    by_aws = {
        row["aws_service"]: (row["now"], row["then"])
        for row in records.values("aws_service").annotate(now=now_sum, then=then_sum)
    }
    by_tag = {
        row["service_tag"]: (row["now"], row["then"])
        for row in records.values("service_tag").annotate(now=now_sum, then=then_sum)
    }
    return by_aws, by_tag


def _group_sums(first: date, last: date) -> dict[tuple[str, str], Decimal]:
    """Spend per (dimension, key) of the AWS services and the tags from `first` to `last`.

    The whole months inside are read from their `MonthlyCost` sums, only the days around them from
    `DailyCost`: a year is a dozen rows per group instead of 365.
    """
    dimensions = (Dimension.AWS_SERVICE, Dimension.SERVICE_TAG)
    whole_first = first if first.day == 1 else month_bounds(first)[1] + timedelta(days=1)
    whole_last = last if last == month_bounds(last)[1] else last.replace(day=1) - timedelta(days=1)
    spans = [(first, last)]
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    if whole_first < whole_last:
        months = MonthlyCost.objects.filter(dimension__in=dimensions, month__range=(whole_first, whole_last))
        for dimension, key, amount in months.values_list("dimension", "key").annotate(Sum("amount")).order_by():
            sums[dimension, key] += amount
        # One query per side, each on its own day range: an index serves a range, not a hole in one.
        spans = [(first, whole_first - timedelta(days=1)), (whole_last + timedelta(days=1), last)]
    for span in spans:
        days = DailyCost.objects.filter(dimension__in=dimensions, day__range=span)
        for dimension, key, amount in days.values_list("dimension", "key").annotate(Sum("amount")).order_by():
            sums[dimension, key] += amount
    return sums


def _daily_amounts(first: date, last: date, tags: list[str] | None, known: Iterable[date]) -> dict[date, Decimal]:
    """Spend per known day from `first` to `last`, of everything or of the tags; zero on a known day without it."""
    days = {day: Decimal(0) for day in known if first <= day <= last}
    rows = DailyCost.objects.filter(day__range=(first, last))
    if tags is None:
        rows = rows.filter(dimension=Dimension.TOTAL)
    else:
        rows = rows.filter(dimension=Dimension.SERVICE_TAG, key__in=tags)
    for day, amount in rows.values_list("day", "amount"):
        days[day] = days.get(day, Decimal(0)) + amount
    return days


def _projection(daily: dict[date, Decimal], month_start: date, month_end: date, yesterday: date) -> Decimal:
    """Month to date, plus the last week's daily average for each day left (today included)."""
    spent = sum((amount for day, amount in daily.items() if day >= month_start), Decimal(0))
    recent = [amount for day, amount in daily.items() if day > yesterday - timedelta(days=PROJECTION_DAYS)]
    rate = sum(recent, Decimal(0)) / len(recent) if recent else Decimal(0)
    return spent + rate * (month_end - yesterday).days


def _forecast(
    scoped: Service | None,
    daily: dict[date, Decimal],
    month_start: date,
    month_end: date,
    yesterday: date,
    today: date,
) -> Forecast | None:
    if not daily:
        return None
    if scoped is None:
        aws = (
            CostForecast.objects.filter(made_on__range=(today - FORECAST_MAX_AGE, today), start__gte=month_start)
            .order_by("-made_on")
            .first()
        )
        if aws is not None:
            before = sum((amount for day, amount in daily.items() if month_start <= day < aws.start), Decimal(0))
            return Forecast(_cents(before + aws.amount), "aws")
    return Forecast(_cents(_projection(daily, month_start, month_end, yesterday)), "projection")


def _budgets(
    scoped: Service | None, month_start: date, month_end: date, yesterday: date, known: Iterable[date]
) -> list[BudgetStatus]:
    services = Service.objects.filter(monthly_budget__isnull=False).only("name", "cost_tag", "monthly_budget")
    services = services.order_by("name")
    if scoped is not None:
        services = services.filter(pk=scoped.pk)
    first = min(month_start, yesterday - timedelta(days=PROJECTION_DAYS - 1))
    window = [day for day in known if first <= day <= yesterday]
    tags = {tag_of(service): service for service in services}
    by_tag = {tag: dict.fromkeys(window, Decimal(0)) for tag in tags}  # a known day without a row spent nothing
    for key, day, amount in DailyCost.objects.filter(
        dimension=Dimension.SERVICE_TAG, key__in=list(tags), day__range=(first, yesterday)
    ).values_list("key", "day", "amount"):
        by_tag[key][day] = amount
    statuses = []
    for tag, service in tags.items():
        if service.monthly_budget is None:  # never: the query above leaves such services out
            continue
        daily = by_tag[tag]
        spent = sum((amount for day, amount in daily.items() if day >= month_start), Decimal(0))
        projected = _projection(daily, month_start, month_end, yesterday)
        statuses.append(BudgetStatus(service.name, service.monthly_budget, _cents(spent), _cents(projected)))
    return statuses


def _aws_findings(period: Period, scoped: Service | None, tags: list[str] | None) -> list[AwsAnomaly]:
    findings = AwsAnomaly.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=period.start), start_date__lte=period.end
    ).order_by("-total_impact")
    if scoped is not None:
        findings = findings.filter(dimension_value__in=[*(tags or ()), scoped.name])
    return list(findings)


def _ranked(amounts: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    ranked = sorted(amounts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(name, _cents(amount)) for name, amount in ranked if amount]


def _cents(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENTS, rounding=ROUND_HALF_UP)
