"""The morning digest: what it says, where it goes, and the daily run that ingests and posts it once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from django_q.models import Schedule

from bots import notify
from bots.models import ChannelDelivery, ConsoleMessage
from chatops_site.catalog.models import ChannelRoute, DeployTarget, Service
from chatops_site.deploys.models import Deployment, State
from costs import digest, schedule, tasks
from costs.ingest import ingest_last
from costs.models import DigestPost
from costs.periods import utc_today


@pytest.fixture
def ingested(costs_60_days, alice):
    """60 days ingested, web-app spiking yesterday after alice deployed v2.0.0 to prod the evening before."""
    ingest_last(60)
    started = datetime.combine(utc_today(), datetime.min.time(), tzinfo=UTC) - timedelta(hours=30)
    Deployment.objects.create(
        target=DeployTarget.objects.get(service__name="web-app", environment__name="prod"),
        version="v2.0.0",
        state=State.SUCCEEDED,
        requested_by=alice,
        started_at=started,
        finished_at=started + timedelta(minutes=4),
        provider_run_url="https://github.com/acme/web-app/actions/runs/42",
    )
    costs_60_days.stub.calls.clear()
    return costs_60_days


def test_the_digest_says_yesterday_the_week_the_month_and_the_anomaly_with_its_deployment(ingested):
    built = digest.build()
    yesterday = utc_today() - timedelta(days=1)
    total = ingested.total(yesterday, yesterday)
    before = ingested.total(yesterday - timedelta(days=1), yesterday - timedelta(days=1))
    assert built.reply.text == (
        f"☀️ Cost digest for {yesterday} (UTC): ${total:,.2f} (estimated), "
        f"+${total - before:,.2f} ({(total - before) / before * 100:+.1f}%) vs the day before"
    )
    fields = dict(built.reply.fields)
    assert list(fields) == [
        "Last 7 days",
        "Top services yesterday",
        "Top movers vs the day before",
        "Month to date",
        "Month-end forecast",
        "Anomalies",
    ]
    week = ingested.total(yesterday - timedelta(days=6), yesterday)
    assert fields["Last 7 days"].startswith(f"${week:,.2f}, ")
    assert fields["Last 7 days"].endswith("█")  # yesterday is the week's highest day
    assert fields["Top services yesterday"].startswith("web-app $")
    assert fields["Top movers vs the day before"].startswith("web-app +$")
    assert "our projection" in fields["Month-end forecast"]
    assert fields["Anomalies"].startswith(f"⚠️ web-app on {yesterday} (estimated): ")
    assert "deployed in the 48 hours before: #" in fields["Anomalies"]
    assert " v2.0.0 to prod by alice at " in fields["Anomalies"]
    assert built.reply.links == [
        (f"#{Deployment.objects.get().pk} web-app v2.0.0", "https://github.com/acme/web-app/actions/runs/42")
    ]
    assert built.reply.public


def test_the_digest_goes_to_its_routes_and_each_anomaly_to_the_routes_of_its_service(ingested, catalog):
    web_app, api = Service.objects.get(name="web-app"), Service.objects.get(name="api")
    ChannelRoute.objects.create(events=["cost_digest", "cost_anomaly"], channel="console:finance")
    ChannelRoute.objects.create(events=["cost_anomaly"], service=web_app, channel="console:web-team")
    ChannelRoute.objects.create(events=["cost_anomaly"], service=api, channel="console:api-team")
    sent = digest.send()
    assert sent.posted_to == ["console:finance"]
    heard = {m.channel: m.text for m in ConsoleMessage.objects.all()}
    assert set(heard) == {"finance", "web-team"}  # finance heard the anomaly in the digest already
    assert heard["finance"].startswith("☀️ Cost digest for ")
    assert heard["web-team"].startswith(f"⚠️ web-app on {utc_today() - timedelta(days=1)} (estimated): ")


def test_one_channel_failing_does_not_keep_the_digest_from_the_others(ingested, monkeypatch):
    ChannelRoute.objects.create(events=["cost_digest"], channel="console:broken")
    ChannelRoute.objects.create(events=["cost_digest"], channel="console:finance")
    real = notify.post_to_channel

    def flaky(channel, reply):
        if channel == "console:broken":
            raise ConnectionError("chat is down")
        real(channel, reply)

    monkeypatch.setattr(notify, "post_to_channel", flaky)
    assert digest.send().posted_to == ["console:finance"]
    failed = ChannelDelivery.objects.get(ok=False)
    assert (failed.event, failed.channel, failed.error) == (
        "cost_digest",
        "console:broken",
        "ConnectionError: chat is down",
    )


@override_settings(CHATOPS_DEFAULT_CHANNEL="console:ops")
def test_cost_digest_print_posts_and_prints(ingested):
    out = StringIO()
    call_command("cost_digest", "--print", stdout=out)
    printed = out.getvalue()
    assert printed.startswith("☀️ Cost digest for ")
    assert "\n  Anomalies: ⚠️ web-app on " in printed
    assert printed.endswith("Posted to console:ops.\n")
    assert ConsoleMessage.objects.get(channel="ops").text in printed


def test_without_cost_data_there_is_no_digest(catalog):
    out = StringIO()
    call_command("cost_digest", "--print", stdout=out)
    assert out.getvalue() == "No cost data for yesterday yet: run `manage.py costs_backfill --days 30` first.\n"


@override_settings(CHATOPS_DEFAULT_CHANNEL="console:ops")
def test_the_morning_run_ingests_the_last_days_then_posts_once(ingested):
    assert tasks.morning() == "digest posted to console:ops"
    pages = ingested.requests("GetCostAndUsage")
    today = utc_today()
    period = {"Start": str(today - timedelta(days=2)), "End": str(today + timedelta(days=1))}
    assert pages[0].json()["TimePeriod"] == period
    calls = len(ingested.stub.calls)
    assert tasks.morning() == f"the digest for {schedule.local_today()} was already posted"
    assert len(ingested.stub.calls) == calls  # a repeated run asks Cost Explorer nothing
    assert ConsoleMessage.objects.filter(channel="ops").count() == 1
    assert DigestPost.objects.get().channels == ["console:ops"]


@override_settings(COST_DIGEST_TIME="07:30", COST_DIGEST_TIME_ZONE="Europe/Paris")
def test_the_morning_run_sets_its_next_run_to_the_digest_time_in_the_digest_time_zone(ingested):
    tasks.morning()
    run = Schedule.objects.get(name="costs-morning")
    assert run.func == "costs.tasks.morning"
    assert run.next_run == schedule.next_run()
    local = run.next_run.astimezone(schedule.digest_zone())
    assert (local.hour, local.minute) == (7, 30)


@override_settings(COST_DIGEST_TIME="07:30", COST_DIGEST_TIME_ZONE="Europe/Paris")
def test_the_digest_time_follows_daylight_saving():
    # Paris moves to summer time on 2026-03-29: 07:30 is 06:30 UTC before and 05:30 UTC after.
    assert schedule.next_run(datetime(2026, 3, 28, 7, 0, tzinfo=UTC)) == datetime(2026, 3, 29, 5, 30, tzinfo=UTC)
    assert schedule.next_run(datetime(2026, 3, 27, 7, 0, tzinfo=UTC)) == datetime(2026, 3, 28, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("COST_DIGEST_TIME", "9am", "COST_DIGEST_TIME='9am' is not a time of day as HH:MM"),
        ("COST_DIGEST_TIME_ZONE", "Mars/Olympus", "COST_DIGEST_TIME_ZONE='Mars/Olympus' is not a time zone"),
    ],
)
def test_a_bad_digest_time_setting_is_named(name, value, message):
    with override_settings(**{name: value}), pytest.raises(ImproperlyConfigured, match=message):
        schedule.next_run()
