"""Cost fixtures: fake AWS credentials, the Cost Explorer double, and 60 days of known costs in it."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from costs.periods import utc_today
from integrations import aws
from tests.stubs import StubServer
from tests.stubs.cost_explorer import ACCESS_KEY, CostExplorer

AWS_SERVICES = {"Amazon Elastic Compute Cloud - Compute": 40, "Amazon Simple Storage Service": 8, "AWS Lambda": 5}
# Tag value -> daily level; "" is spend without the tag. The demo catalog's services carry no cost_tag,
# so their tag is their name.
TAGS = {"web-app": 1.0, "api": 1.5, "worker": 0.5, "": 0.3}
SPIKE = 900  # dollars added to web-app's EC2 spend yesterday


@pytest.fixture
def aws_credentials(monkeypatch, tmp_path):
    """Fake credentials in the environment only; no profile or config file of this machine leaks in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    aws.client.cache_clear()
    yield
    aws.client.cache_clear()


@pytest.fixture
def explorer(aws_credentials, monkeypatch):
    with StubServer() as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", stub.url)
        aws.client.cache_clear()
        yield CostExplorer(stub)


def fill(double: CostExplorer, days: int = 60, spike: bool = True, seed: int = 11) -> None:
    """`days` days of noisy, flat spend ending today; yesterday and today estimated; web-app spikes yesterday."""
    rng = random.Random(seed)
    today = utc_today()
    for back in range(days):
        day = today - timedelta(days=back)
        for tag, level in TAGS.items():
            for aws_service, base in AWS_SERVICES.items():
                double.add(day, aws_service, tag, round(base * level * rng.uniform(0.92, 1.08), 2))
    double.estimated |= {today, today - timedelta(days=1)}
    if spike:
        double.add(today - timedelta(days=1), "Amazon Elastic Compute Cloud - Compute", "web-app", SPIKE)


@pytest.fixture
def costs_60_days(explorer, catalog):
    """The double holds 60 days of costs with a web-app spike yesterday; nothing is ingested yet."""
    fill(explorer)
    return explorer
