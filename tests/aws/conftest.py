"""AWS through moto: fake credentials, one region, and fresh clients and caches for every test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from moto import mock_aws

from integrations.aws import client

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    """A moto account, us-east-1 the default region; yields `put_metric` to put data points into CloudWatch."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # seconds per test otherwise; run_instances needs none
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ENDPOINT_URL_SSM"):
        monkeypatch.delenv(name, raising=False)
    cache.clear()
    # Clients stay cached across tests (building one costs a few tenths of a second); moto intercepts
    # every client once it is imported, and each `mock_aws()` starts from empty accounts.
    with mock_aws():
        yield put_metric
    cache.clear()


@pytest.fixture
def get_metric_data_calls():
    """The parameters of each GetMetricData request the default region's client makes during the test."""
    calls: list[dict] = []
    events = client("cloudwatch", None).meta.events
    event = "provide-client-params.monitoring.GetMetricData"

    def record(params, **kwargs):
        calls.append(params)

    events.register(event, record, unique_id="test-get-metric-data-calls")
    yield calls
    events.unregister(event, unique_id="test-get-metric-data-calls")


def put_metric(namespace: str, name: str, dimensions: dict[str, str], values: list[float], region: str = REGION):
    """Data points one minute apart, the last value the newest (a minute ago)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    client("cloudwatch", region).put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
                "Timestamp": now - timedelta(minutes=len(values) - index),
                "Value": value,
                "Unit": "Percent",
            }
            for index, value in enumerate(values)
        ],
    )


@pytest.fixture
def no_aws(monkeypatch):
    """No credentials anywhere (and no instance metadata to look for them in)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    client.cache_clear()
    cache.clear()
    yield
    client.cache_clear()
