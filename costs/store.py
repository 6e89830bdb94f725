"""Writing cost days: every writer (ingestion, demo data, benchmark) replaces whole days through here.

A day's `CostRecord`s and its `DailyCost` sums are always rewritten together in one transaction, so a
re-run replaces a day instead of adding to it, and reports never see a day half written. The same
transaction sums the months holding those days again (`MonthlyCost`) and judges anomalies
(`DailyAnomaly`) on the days written and the `LOOKBACK` days after them, whose history changed with
them: questions then read a year as a dozen months, and verdicts instead of every tag's series.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice

from django.db import transaction
from django.db.models import FloatField, Sum
from django.db.models.functions import Cast, TruncMonth

from costs.anomalies import LOOKBACK, judge
from costs.models import CostRecord, DailyAnomaly, DailyCost, Dimension, MonthlyCost
from costs.periods import month_bounds

log = logging.getLogger("chatops.costs")

BATCH = 5000
PLACES = Decimal("0.000001")  # CostRecord.amount keeps six decimal places

# (day, AWS service, service tag, amount)
Row = tuple[date, str, str, Decimal]


@transaction.atomic
def replace_days(start: date, end: date, rows: Iterable[Row], estimated: set[date], *, demo: bool = False) -> int:
    """Make the days `start`..`end` hold exactly `rows`; returns how many rows were written.

    Real data (demo=False) first removes every demo row: demo and real costs never mix.
    """
    if not demo and remove_demo():
        log.info("removed the demo costs: real costs are in")
    CostRecord.objects.filter(day__range=(start, end)).delete()
    written = 0
    records = (
        CostRecord(
            day=day,
            aws_service=aws,
            service_tag=tag,
            amount=amount.quantize(PLACES),
            estimated=day in estimated,
            demo=demo,
        )
        for day, aws, tag, amount in rows
    )
    while batch := list(islice(records, BATCH)):
        CostRecord.objects.bulk_create(batch)
        written += len(batch)
    _sum_days(start, end, estimated, demo)
    sum_months(start, end)
    judge_days(start, end + timedelta(days=LOOKBACK))
    return written


def _sum_days(start: date, end: date, estimated: set[date], demo: bool) -> None:
    DailyCost.objects.filter(day__range=(start, end)).delete()
    records = CostRecord.objects.filter(day__range=(start, end)).order_by()
    totals = {row["day"]: row["amount"] for row in records.values("day").annotate(amount=Sum("amount"))}
    sums = []
    day = start
    while day <= end:  # every day ingested gets a total, zero included: it says "we know this day"
        sums.append(_daily(day, Dimension.TOTAL, "", totals.get(day, Decimal(0)), estimated, demo))
        day += timedelta(days=1)
    for dimension in (Dimension.AWS_SERVICE, Dimension.SERVICE_TAG):
        for row in records.values("day", dimension).annotate(amount=Sum("amount")):
            sums.append(_daily(row["day"], dimension, row[dimension], row["amount"], estimated, demo))
    DailyCost.objects.bulk_create(sums, batch_size=BATCH)


def _daily(day: date, dimension: str, key: str, amount: Decimal, estimated: set[date], demo: bool) -> DailyCost:
    return DailyCost(day=day, dimension=dimension, key=key, amount=amount, estimated=day in estimated, demo=demo)


def sum_months(
    start: date, end: date, *, daily: type[DailyCost] = DailyCost, monthly: type[MonthlyCost] = MonthlyCost
) -> None:
    """Sum again every month holding a day of `start`..`end` (the migration passes its historical models)."""
    first, last = start.replace(day=1), month_bounds(end)[1]
    monthly.objects.filter(month__range=(first, last)).delete()
    rows = (
        daily.objects.filter(day__range=(first, last))
        .values("dimension", "key", "demo", month=TruncMonth("day"))  # demo and real days never mix
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    monthly.objects.bulk_create((monthly(**row) for row in rows), batch_size=BATCH)


def judge_days(
    start: date, end: date, *, daily: type[DailyCost] = DailyCost, anomalies: type[DailyAnomaly] = DailyAnomaly
) -> int:
    """Judge every tag's spend on the known days `start`..`end` again; returns how many stand out.

    `daily` and `anomalies` are the models to use: the migration that judged the days already written
    passes its historical ones.
    """
    first = start - timedelta(days=LOOKBACK)
    totals = daily.objects.filter(dimension=Dimension.TOTAL, day__range=(first, end))
    known = {day: (estimated, demo) for day, estimated, demo in totals.values_list("day", "estimated", "demo")}
    series: dict[str, dict[date, float]] = defaultdict(dict)
    # As floats straight from the database: thousands of rows, and a z-score needs no cents.
    tags = daily.objects.filter(dimension=Dimension.SERVICE_TAG, day__range=(first, end))
    for tag, day, amount in tags.values_list("key", "day", Cast("amount", FloatField())):
        series[tag][day] = amount
    found = [
        anomalies(
            day=day,
            tag=tag,
            amount=amount,
            usual=verdict.usual,
            score=verdict.score,
            estimated=known[day][0],
            demo=known[day][1],
        )
        for day, tag, amount, verdict in judge(list(known), series, start, end)
    ]
    anomalies.objects.filter(day__range=(start, end)).delete()
    anomalies.objects.bulk_create(found, batch_size=BATCH)
    return len(found)


def remove_demo() -> int:
    """Delete every demo cost row and its sums; returns how many rows there were."""
    removed, _ = CostRecord.objects.filter(demo=True).delete()
    DailyCost.objects.filter(demo=True).delete()
    MonthlyCost.objects.filter(demo=True).delete()
    DailyAnomaly.objects.filter(demo=True).delete()
    return removed


def has_real_data() -> bool:
    return CostRecord.objects.filter(demo=False).exists()
