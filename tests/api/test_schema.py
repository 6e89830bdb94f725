"""The OpenAPI schema, the docs page, and a schemathesis run: no 5xx, and every answer fits the schema.

Schemathesis generates requests (valid and invalid) for every operation from `/api/schema/` and sends
them through the WSGI app with alice's token; the examples are bounded so the suite stays quick.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from chatops_site.wsgi import application

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_the_schema_names_every_endpoint(client):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    assert set(response.json()["paths"]) == {
        "/api/v1/services/",
        "/api/v1/services/{name}/",
        "/api/v1/environments/",
        "/api/v1/deployments/",
        "/api/v1/deployments/{id}/",
        "/api/v1/deployments/{id}/approve/",
        "/api/v1/deployments/{id}/reject/",
        "/api/v1/deployments/{id}/cancel/",
        "/api/v1/deployments/{id}/finish/",
        "/api/v1/gates/",
        "/api/v1/commands/",
        "/api/v1/locks/",
        "/api/v1/locks/{id}/",
        "/api/v1/freezes/",
        "/api/v1/freezes/{name}/",
        "/api/v1/costs/daily/",
        "/api/v1/costs/summary/",
    }


def test_the_docs_page_is_self_contained(client):
    page = client.get("/api/docs/").text

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


# The schema is read from the app itself (generating it needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def connection_kept():
    """Django closes the database connection after each request; like Django's test client, keep it open
    while schemathesis calls the WSGI app directly, so its requests run inside the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_no_answer_outside_the_schema(case, alice, api_key, spend, connection_kept):
    case.call_and_validate(headers={"Authorization": f"Token {api_key(alice)}"}, checks=CHECKS)
