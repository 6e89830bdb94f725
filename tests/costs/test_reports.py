"""The numbers behind /cost, the digest and the API: periods, totals, groupings, budgets, forecasts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from chatops_site.catalog.models import Service
from costs.models import CostForecast
from costs.periods import PeriodError, parse_period
from costs.reports import UnknownService, daily, summary, totals_by_day
from costs.store import replace_days

TODAY = date(2026, 3, 20)  # a Friday; yesterday is the 19th


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", date(2026, 3, 20), date(2026, 3, 20)),
        ("yesterday", date(2026, 3, 19), date(2026, 3, 19)),
        (None, date(2026, 3, 19), date(2026, 3, 19)),
        ("week", date(2026, 3, 13), date(2026, 3, 19)),
        ("7d", date(2026, 3, 13), date(2026, 3, 19)),
        ("30D", date(2026, 2, 18), date(2026, 3, 19)),
        ("1d", date(2026, 3, 19), date(2026, 3, 19)),
        ("month", date(2026, 3, 1), date(2026, 3, 19)),
    ],
)
def test_periods_are_utc_days_ending_yesterday(text, start, end):
    period = parse_period(text, today=TODAY)
    assert (period.start, period.end) == (start, end)


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    before = parse_period("month", today=TODAY).previous()
    assert (before.start, before.end) == (date(2026, 2, 10), date(2026, 2, 28))


def test_month_on_the_first_is_today_so_far():
    period = parse_period("month", today=date(2026, 4, 1))
    assert (period.start, period.end) == (date(2026, 4, 1), date(2026, 4, 1))


@pytest.mark.parametrize("text", ["fortnight", "0d", "401d", "-3d", "7 d"])
def test_a_bad_period_says_what_to_type(text):
    with pytest.raises(PeriodError, match=r"today, yesterday, week, month or <N>d|between 1d and 400d"):
        parse_period(text, today=TODAY)


def day(n: int) -> date:
    """n days before TODAY."""
    return TODAY - timedelta(days=n)


@pytest.fixture
def costs(catalog):
    """40 days: web-app $10 EC2 + $2 S3, api (cost tag acme-api) $20 RDS, $1 untagged; estimated yesterday."""
    Service.objects.filter(name="api").update(cost_tag="acme-api")
    rows = []
    for n in range(0, 40):
        rows += [
            (day(n), "Amazon EC2", "web-app", Decimal(10)),
            (day(n), "Amazon S3", "web-app", Decimal(2)),
            (day(n), "Amazon RDS", "acme-api", Decimal(20)),
            (day(n), "AWS Lambda", "", Decimal(1)),
        ]
    replace_days(day(39), TODAY, rows, {day(1), day(0)})


def test_summary_totals_group_by_aws_service_and_by_our_service_alike(costs):
    result = summary("7d", today=TODAY)
    assert (result.start, result.end, result.total) == (day(7), day(1), Decimal("231.00"))
    assert result.previous_total == Decimal("231.00")
    assert (result.change, result.change_pct) == (Decimal("0.00"), 0.0)
    assert result.by_aws_service == [
        ("Amazon RDS", Decimal("140.00")),
        ("Amazon EC2", Decimal("70.00")),
        ("Amazon S3", Decimal("14.00")),
        ("AWS Lambda", Decimal("7.00")),
    ]
    assert result.by_service == [
        ("api", Decimal("140.00")),
        ("web-app", Decimal("84.00")),
        ("(untagged)", Decimal("7.00")),
    ]
    assert result.estimated_days == [day(1)]
    assert (result.days, result.days_with_data, result.demo) == (7, 7, False)


def test_summary_of_one_service_counts_only_its_tag(costs):
    result = summary("7d", "api", today=TODAY)
    assert result.total == Decimal("140.00")
    assert result.by_aws_service == [("Amazon RDS", Decimal("140.00"))]
    assert result.by_service == [("api", Decimal("140.00"))]


def test_summary_of_an_unknown_service_is_refused(costs):
    with pytest.raises(UnknownService, match="unknown service 'nope'"):
        summary("7d", "nope", today=TODAY)


def test_movers_are_the_biggest_changes_against_the_previous_period(costs):
    replace_days(day(1), day(1), [(day(1), "Amazon EC2", "web-app", Decimal(110))], {day(1)})
    result = summary("yesterday", today=TODAY)
    assert result.total == Decimal("110.00")
    assert [(m.name, m.kind, m.change) for m in result.movers[:2]] == [
        ("Amazon EC2", "AWS service", Decimal("100.00")),
        ("web-app", "service", Decimal("98.00")),
    ]


@pytest.mark.parametrize(("period", "known_before"), [("30d", 9), ("60d", 0)])
def test_no_change_is_given_against_a_period_known_only_in_part(costs, period, known_before):
    result = summary(period, today=TODAY)
    assert result.change is None and result.change_pct is None
    assert result.previous_days_with_data == known_before


def test_month_to_date_and_our_own_projection(costs):
    result = summary("month", today=TODAY)
    assert result.month_to_date == Decimal("33.00") * 19
    # 19 days spent, the last week averaged $33 a day, 12 days left (today to the 31st).
    assert result.forecast.amount == Decimal("33.00") * 31
    assert result.forecast.source == "projection"
    assert result.forecast.label == "our projection from the last 7 days' average"


def test_a_fresh_aws_forecast_wins_over_our_projection(costs):
    CostForecast.objects.create(made_on=TODAY, start=TODAY, end=date(2026, 4, 1), amount=Decimal("500"))
    result = summary("month", today=TODAY)
    assert (result.forecast.amount, result.forecast.source) == (Decimal("33.00") * 19 + 500, "aws")
    assert summary("month", "api", today=TODAY).forecast.source == "projection"  # AWS forecasts the account


def test_a_stale_aws_forecast_is_ignored(costs):
    CostForecast.objects.create(made_on=day(4), start=day(4), end=date(2026, 4, 1), amount=Decimal("1"))
    assert summary("month", today=TODAY).forecast.source == "projection"


@pytest.mark.parametrize(
    ("budget", "level"),
    [("1000", "ok"), ("600", "projected over"), ("400", "warning"), ("380", "over")],
)
def test_budgets_warn_at_80_and_100_percent_and_when_on_track_to_pass(costs, budget, level):
    Service.objects.filter(name="api").update(monthly_budget=Decimal(budget))
    [status] = summary("month", today=TODAY).budgets
    assert (status.service, status.spent, status.level) == ("api", Decimal("380.00"), level)
    assert status.projected == Decimal("620.00")


def test_daily_rows_by_aws_service_and_by_service(costs):
    assert daily(day(1), day(1)) == [
        (day(1), "AWS Lambda", Decimal("1.00"), True),
        (day(1), "Amazon EC2", Decimal("10.00"), True),
        (day(1), "Amazon RDS", Decimal("20.00"), True),
        (day(1), "Amazon S3", Decimal("2.00"), True),
    ]
    assert daily(day(2), day(2), group_by="service") == [
        (day(2), "(untagged)", Decimal("1.00"), False),
        (day(2), "api", Decimal("20.00"), False),
        (day(2), "web-app", Decimal("12.00"), False),
    ]
    assert daily(day(2), day(2), service="web-app") == [
        (day(2), "Amazon EC2", Decimal("10.00"), False),
        (day(2), "Amazon S3", Decimal("2.00"), False),
    ]
    assert totals_by_day(day(2), day(1)) == {day(2): Decimal("33.00"), day(1): Decimal("33.00")}


def test_daily_refuses_an_unknown_grouping(costs):
    with pytest.raises(ValueError, match="group_by is 'aws_service' or 'service'"):
        daily(day(2), day(1), group_by="team")
