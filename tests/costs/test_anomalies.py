"""Our own anomaly detection: known spikes are found, noise and rhythm stay quiet, deploys are named."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chatops_site.catalog.models import DeployTarget, Service
from chatops_site.deploys.models import Deployment, State
from costs import anomalies
from costs.anomalies import spike
from costs.periods import utc_today
from costs.store import replace_days


def noisy(level: float, days: int, noise: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [level * rng.uniform(1 - noise, 1 + noise) for _ in range(days)]


@pytest.mark.parametrize("seed", range(20))
def test_a_known_spike_in_a_noisy_series_is_found(seed):
    series = noisy(200, 40, 0.1, seed)
    series[35] *= 2.5
    found = [day for day in range(14, 40) if spike(series[day], series[max(0, day - 28) : day])]
    assert found == [35]


@pytest.mark.parametrize("seed", range(20))
def test_a_noisy_flat_series_stays_quiet(seed):
    series = noisy(200, 90, 0.15, seed)
    assert not [day for day in range(14, 90) if spike(series[day], series[max(0, day - 28) : day])]


def test_a_weekly_rhythm_is_not_an_anomaly():
    rhythm = [100, 102, 103, 101, 97, 60, 55]
    series = [rhythm[day % 7] * v for day, v in enumerate(noisy(1, 84, 0.03, 5))]
    assert not [day for day in range(28, 84) if spike(series[day], series[day - 28 : day])]


def test_a_small_service_tripling_is_too_small_to_alarm():
    assert spike(3.0, [1.0] * 28) is None  # +$2 a day
    assert spike(40.0, [10.0] * 28) is not None  # +$30 a day


def test_a_spike_needs_two_weeks_of_history():
    assert spike(500.0, [10.0] * 13) is None
    assert spike(500.0, [10.0] * 14) is not None


def test_an_earlier_spike_does_not_hide_the_next_one():
    history = [100.0] * 27 + [900.0]
    assert spike(900.0, history) is not None


def test_a_drop_is_not_a_cost_anomaly():
    assert spike(0.0, [100.0] * 28) is None


def write_days(days: dict, tag: str = "web-app") -> None:
    """days: date -> amount for one tag, on one AWS service; every day in between is known."""
    start, end = min(days), max(days)
    replace_days(start, end, [(d, "Amazon EC2", tag, Decimal(a)) for d, a in days.items()], {end})


def test_find_names_the_service_the_driver_and_the_deployments_before_the_spike(alice, catalog):
    today = utc_today()
    spike_day = today - timedelta(days=1)
    write_days({today - timedelta(days=n): ("400" if n == 1 else "40") for n in range(1, 30)})
    target = DeployTarget.objects.get(service__name="web-app", environment__name="prod")

    def deployed(version, hours_before_spike_day, url=""):
        at = datetime.combine(spike_day, datetime.min.time(), tzinfo=UTC) - timedelta(hours=hours_before_spike_day)
        return Deployment.objects.create(
            target=target,
            version=version,
            state=State.SUCCEEDED,
            requested_by=alice,
            requested_at=at,
            started_at=at,
            finished_at=at + timedelta(minutes=3),
            provider_run_url=url,
        )

    deployed("v1.0.0", 60)  # too early
    inside = deployed("v1.1.0", 30, "https://ci.example/run/1")
    same_day = deployed("v1.2.0", -5)

    [anomaly] = anomalies.find(spike_day, spike_day)
    assert (anomaly.service, anomaly.day, anomaly.amount, anomaly.usual) == (
        "web-app",
        spike_day,
        Decimal("400.00"),
        Decimal("40.00"),
    )
    assert anomaly.estimated
    assert anomaly.driver == "Amazon EC2"
    assert anomaly.deployments == [inside, same_day]


def test_find_uses_the_catalog_cost_tag_and_reports_untagged_spend_by_its_bucket(catalog):
    Service.objects.filter(name="api").update(cost_tag="acme-api")
    today = utc_today()
    days = [today - timedelta(days=n) for n in range(1, 30)]
    rows = []
    for d in days:
        rows += [(d, "Amazon RDS", "acme-api", Decimal("300" if d == days[0] else "30"))]
        rows += [(d, "AWS Lambda", "", Decimal("200" if d == days[0] else "20"))]
    replace_days(days[-1], days[0], rows, set())
    assert [(a.service, a.deployments) for a in anomalies.find(days[0], days[0])] == [
        ("api", []),
        ("(untagged)", []),
    ]
