"""API fixtures: a client per persona holding that user's token, and a deployment waiting in prod."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from chatops_site.deploys.models import Deployment
from costs import store
from costs.periods import utc_today


@pytest.fixture
def api(catalog, api_key, django_capture_on_commit_callbacks):
    """`api("alice").post(...)`: a client sending a token of alice's; `api(None)` sends none. Tasks run on commit."""

    class Client(APIClient):
        def generic(self, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return super().generic(*args, **kwargs)

    def client(username: str | None) -> APIClient:
        made = Client()
        if username is not None:
            user, _ = get_user_model().objects.get_or_create(username=username)
            made.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
        return made

    return client


@pytest.fixture
def waiting(api) -> Deployment:
    """alice's deploy of web-app v9 to prod, waiting for someone else's approval."""
    response = api("alice").post(
        "/api/v1/deployments/", {"service": "web-app", "environment": "prod", "version": "v9", "action": "deploy"}
    )
    assert response.status_code == 202, response.json()
    return Deployment.objects.get(pk=response.json()["id"])


@pytest.fixture
def spend(catalog) -> dict:
    """Ten known days of spend: web-app on EC2 and S3, api on EC2; the last day still estimated."""
    end = utc_today() - timedelta(days=1)
    start = end - timedelta(days=9)
    days = [start + timedelta(days=i) for i in range(10)]
    rows = [
        (day, aws, tag, Decimal(amount))
        for day in days
        for aws, tag, amount in (
            ("Amazon Elastic Compute Cloud - Compute", "web-app", "10.00"),
            ("Amazon Simple Storage Service", "web-app", "2.50"),
            ("Amazon Elastic Compute Cloud - Compute", "api", "5.25"),
        )
    ]
    store.replace_days(start, end, rows, estimated={end})
    return {"start": start, "end": end}
