"""While the database is not answering, the API answers 503 with its usual JSON `detail`."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/api/v1/deployments/", None),
        ("post", "/api/v1/deployments/", {"service": "web-app", "environment": "staging", "action": "deploy"}),
    ],
)
def test_a_request_during_an_outage_is_a_503_to_try_again(api, database_down, method, url, data):
    client = api("alice")  # the token was issued while the database still answered
    database_down()

    response = getattr(client, method)(url, data, format="json")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The database is not answering right now; try again in a moment."}
