"""The deployment page shows the watch after a deploy with its timeline, and the page and `/history` the service's
cost around the deploy once the days after it are ingested.

The watch reads the offline demo's alarms here (CHATOPS_DEMO_ALARMS), as `make run` does: the same rules as
with CloudWatch (tests/aws/test_watch.py), without an AWS account.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from chatops_site.catalog.models import DeployTarget
from chatops_site.deploys import watch
from chatops_site.deploys.models import Deployment, Watch
from costs.around import around
from costs.demo import seed_costs
from costs.models import DailyCost, Dimension
from costs.periods import utc_today


@pytest.fixture
def demo_alarms(settings, catalog):
    settings.CHATOPS_DEMO_ALARMS = True
    cache.clear()
    DeployTarget.objects.filter(service__name="web-app", environment__name="staging").update(
        watch={"minutes": 2, "alarms": ["web-5xx"], "auto_rollback": False}
    )
    yield
    cache.clear()


@pytest.fixture
def unhealthy(demo_alarms, say, django_capture_on_commit_callbacks) -> Deployment:
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")
    deployment = Deployment.objects.get(version="v2")
    call_command("demo_alarm", "web-5xx", "ALARM", stdout=StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        watch.check(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.watch == Watch.UNHEALTHY
    return deployment


def test_the_deployment_page_shows_the_watch_its_timeline_and_the_rollback(client_as, unhealthy):
    page = client_as("alice").get(f"/deployments/{unhealthy.pk}/").text

    assert "Watch after the deploy" in page
    assert re.search(r"⚠️ unhealthy: web-5xx in ALARM since \d\d:\d\d \(within a minute of the deploy\)", page)
    assert "2 min, until <time" in page and "alarms web-5xx, CPU ≥ 90% and memory ≥ 90%" in page
    timeline = re.findall(r"</time> ([^<]+)</li>", page.split("Watch after the deploy")[1])
    assert timeline[0] == "watching for 2 min: web-5xx, CPU/memory critical"
    assert timeline[1].startswith("unhealthy: web-5xx in ALARM since ")
    assert 'value="/rollback web-app staging"' in page  # the page's own button, for those with the grant


def test_an_untouched_demo_deploy_ends_healthy(demo_alarms, say, django_capture_on_commit_callbacks):
    say("alice", "/deploy web-app staging v1")
    deployment = Deployment.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        watch.check(deployment.pk, now=deployment.watch_until)
    deployment.refresh_from_db()

    assert deployment.watch == Watch.HEALTHY
    assert deployment.events.last().message == "healthy after 2 min"


def _average(day_from, days: int) -> Decimal:
    amounts = DailyCost.objects.filter(
        dimension=Dimension.SERVICE_TAG, key="web-app", day__range=(day_from, day_from + timedelta(days=days - 1))
    ).values_list("amount", flat=True)
    return (sum(amounts, Decimal(0)) / days).quantize(Decimal("0.01"))


def test_the_deployment_page_and_history_show_the_cost_before_and_after_with_ingested_demo_days(client_as, say, carol):
    say("alice", "/deploy web-app staging v1")
    deployment = Deployment.objects.get()
    deploy_day = utc_today() - timedelta(days=5)
    finished = datetime.combine(deploy_day, time(14, 0), tzinfo=UTC)
    Deployment.objects.filter(pk=deployment.pk).update(finished_at=finished)
    deployment.refresh_from_db()
    assert around(deployment) is None  # no day is ingested yet

    seed_costs()

    cost = around(deployment)
    assert cost is not None and (cost.days_before, cost.days_after) == (3, 3)
    before = _average(deploy_day - timedelta(days=3), 3)
    after = _average(deploy_day + timedelta(days=1), 3)
    assert (cost.before, cost.after) == (before, after)
    text = f"${before:,.2f}/day before, ${after:,.2f}/day after ("
    page = client_as("carol").get(f"/deployments/{deployment.pk}/").text
    assert "Cost of web-app" in page and text in page
    history = say("carol", "/history").text.splitlines()
    assert history[1].startswith(f"    💵 web-app cost {text}")


def test_the_days_after_count_once_they_are_ingested(say):
    say("alice", "/deploy web-app staging v1")
    deployment = Deployment.objects.get()
    today = utc_today()
    seed_costs(today=today)  # up to today, the deploy's own day: nothing after it yet

    assert around(deployment) is None
