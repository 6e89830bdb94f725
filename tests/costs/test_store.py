"""Writing days keeps what reports read in step: month sums and anomaly verdicts, also after a revision."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from costs import anomalies, reports
from costs.anomalies import spike
from costs.models import DailyAnomaly, DailyCost, Dimension, MonthlyCost
from costs.periods import utc_today
from costs.store import remove_demo, replace_days

TAGS = {"web-app": 200.0, "api": 60.0, "worker": 15.0}


def spend(first: date, last: date, level=lambda tag, day: TAGS[tag], seed: int = 3) -> list:
    rng = random.Random(seed)
    rows, day = [], first
    while day <= last:
        for tag in TAGS:
            rows.append((day, "Amazon EC2", tag, Decimal(f"{level(tag, day) * rng.uniform(0.9, 1.1):.4f}")))
        day += timedelta(days=1)
    return rows


def from_scratch(first: date, last: date) -> set[tuple[date, str, Decimal, Decimal]]:
    """Every tag's days (all known from `first`) judged here against the up to 28 days before them."""
    cents = Decimal("0.01")
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    found = set()
    for tag in TAGS:
        rows = DailyCost.objects.filter(dimension=Dimension.SERVICE_TAG, key=tag).values_list("day", "amount")
        series = {day: float(amount) for day, amount in rows}
        for index, day in enumerate(days):
            history = [series.get(d, 0.0) for d in days[max(0, index - 28) : index]]
            verdict = spike(series.get(day, 0.0), history)
            if verdict is not None:
                amount, usual = Decimal(str(series[day])), Decimal(str(verdict.usual))
                found.add((day, tag, amount.quantize(cents), usual.quantize(cents)))
    return found


def written(first: date, last: date) -> set[tuple[date, str, Decimal, Decimal]]:
    return {(a.day, a.tag, a.amount, a.usual) for a in anomalies.find(first, last)}


def test_verdicts_worked_out_when_days_are_written_equal_a_judgement_from_scratch(catalog):
    last = utc_today() - timedelta(days=1)
    first = last - timedelta(days=89)
    spikes = {(last - timedelta(days=5), "web-app"), (last - timedelta(days=40), "api"), (last, "worker")}
    rows = spend(first, last, lambda tag, day: TAGS[tag] * (4 if (day, tag) in spikes else 1))
    # Written as a backfill would: month-long chunks, the newest first, and the last days twice.
    for chunk_end in (last, last - timedelta(days=31), last - timedelta(days=62)):
        chunk_start = max(first, chunk_end - timedelta(days=30))
        replace_days(chunk_start, chunk_end, [r for r in rows if chunk_start <= r[0] <= chunk_end], {last})
    replace_days(last - timedelta(days=2), last, [r for r in rows if r[0] >= last - timedelta(days=2)], {last})

    expected = from_scratch(first, last)
    assert {(day, tag) for day, tag, _, _ in expected} == spikes
    assert written(first, last) == expected


def test_a_revised_day_changes_the_verdicts_of_the_days_after_it(catalog):
    last = utc_today() - timedelta(days=1)
    first = last - timedelta(days=59)
    spike_day = last - timedelta(days=3)
    rows = spend(first, last, lambda tag, day: TAGS[tag] * (3 if (day, tag) == (spike_day, "api") else 1))
    replace_days(first, last, rows, {last})
    assert [(a.day, a.service) for a in anomalies.find(first, last)] == [(spike_day, "api")]

    # Cost Explorer revises two weeks before the spike: api was already spending that much then.
    revised_first, revised_last = spike_day - timedelta(days=20), spike_day - timedelta(days=5)
    revised = spend(revised_first, revised_last, lambda tag, day: TAGS[tag] * (3 if tag == "api" else 1), seed=4)
    replace_days(revised_first, revised_last, revised, set())

    assert not [a for a in anomalies.find(spike_day, spike_day)]  # the spike day itself was not rewritten
    assert written(first, last) == from_scratch(first, last)


def test_month_sums_follow_every_rewrite_and_long_periods_add_up_as_the_days_do(catalog):
    last = utc_today() - timedelta(days=1)
    first = last - timedelta(days=99)
    replace_days(first, last, spend(first, last), {last})
    middle = last - timedelta(days=50)
    replace_days(middle, middle + timedelta(days=3), spend(middle, middle + timedelta(days=3), seed=9), set())

    by_month = {
        (row["dimension"], row["key"], row["month"]): row["amount"]
        for row in DailyCost.objects.values("dimension", "key", month=TruncMonth("day")).annotate(amount=Sum("amount"))
    }
    assert {(m.dimension, m.key, m.month): m.amount for m in MonthlyCost.objects.all()} == by_month
    summary = reports.summary("90d")  # at least two whole months inside, and days around them

    def exact(dimension, **filters):
        days = DailyCost.objects.filter(dimension=dimension, day__range=(summary.start, summary.end), **filters)
        return days.aggregate(s=Sum("amount"))["s"].quantize(Decimal("0.01"))

    assert summary.total == exact(Dimension.TOTAL)
    assert dict(summary.by_service) == {tag: exact(Dimension.SERVICE_TAG, key=tag) for tag in TAGS}


def test_removing_the_demo_removes_its_month_sums_and_verdicts(catalog):
    last = utc_today() - timedelta(days=1)
    first = last - timedelta(days=40)
    rows = spend(first, last, lambda tag, day: TAGS[tag] * (5 if day == last else 1))
    replace_days(first, last, rows, {last}, demo=True)
    assert DailyAnomaly.objects.filter(demo=True).exists() and MonthlyCost.objects.filter(demo=True).exists()

    remove_demo()

    assert not DailyAnomaly.objects.exists() and not MonthlyCost.objects.exists()
