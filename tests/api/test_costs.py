"""Costs through the API: the same numbers `/cost` answers with, per day and group."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from chatops_site.catalog.models import Grant, Service
from chatops_site.web.api import serializers as s
from costs import reports


def test_daily_rows_by_aws_service(api, spend):
    start, end = spend["start"], spend["end"]

    response = api("carol").get(f"/api/v1/costs/daily/?start={start}&end={end}")

    assert response.status_code == 200
    answer = response.json()
    assert answer["start"] == str(start) and answer["group_by"] == "aws_service" and answer["service"] is None
    assert len(answer["rows"]) == 20
    assert answer["rows"][:2] == [
        {"day": str(start), "group": "Amazon Elastic Compute Cloud - Compute", "amount": "15.25", "estimated": False},
        {"day": str(start), "group": "Amazon Simple Storage Service", "amount": "2.50", "estimated": False},
    ]
    assert answer["rows"][-1]["estimated"] is True


def test_daily_rows_by_our_service_for_one_service(api, spend):
    response = api("alice").get(f"/api/v1/costs/daily/?start={spend['end']}&group_by=service&service=web-app")

    assert response.json()["rows"] == [
        {"day": str(spend["end"]), "group": "web-app", "amount": "12.50", "estimated": True}
    ]


def test_daily_defaults_to_the_last_30_days(api, spend):
    answer = api("carol").get("/api/v1/costs/daily/?group_by=service").json()
    assert answer["end"] == str(spend["end"])
    assert answer["start"] == str(spend["end"] - timedelta(days=29))
    assert {row["group"] for row in answer["rows"]} == {"api", "web-app"}


def test_daily_refuses_bad_ranges_clearly(api, spend):
    client = api("carol")
    backwards = client.get(f"/api/v1/costs/daily/?start={spend['end']}&end={spend['start']}")
    assert backwards.status_code == 400 and backwards.json()["detail"] == "start: `start` comes after `end`."
    huge = client.get("/api/v1/costs/daily/?start=2000-01-01&end=2030-01-01")
    assert huge.status_code == 400 and huge.json()["detail"] == "start: Ask for at most 1100 days at a time."
    grouping = client.get("/api/v1/costs/daily/?group_by=team")
    assert grouping.status_code == 400 and grouping.json()["detail"] == 'group_by: "team" is not a valid choice.'


def test_the_summary_has_the_numbers_cost_answers_with(api, spend, say):
    answer = api("carol").get("/api/v1/costs/summary/?period=week").json()
    reply = say("carol", "/cost week").text

    assert answer["period"] == "7d" and answer["days"] == 7
    assert answer["total"] == "124.25"  # 7 days x (10 + 2.50 + 5.25)
    assert "$124.25" in reply
    assert answer["by_service"] == [{"name": "web-app", "amount": "87.50"}, {"name": "api", "amount": "36.75"}]
    assert answer["estimated_days"] == [str(spend["end"])]


def test_the_summary_of_one_service(api, spend):
    answer = api("carol").get("/api/v1/costs/summary/?period=yesterday&service=api").json()
    assert answer["service"] == "api" and answer["total"] == "5.25"
    assert answer["by_aws_service"] == [{"name": "Amazon Elastic Compute Cloud - Compute", "amount": "5.25"}]


def test_a_bad_period_says_what_to_type(api, spend):
    response = api("carol").get("/api/v1/costs/summary/?period=fortnight")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "period: 'fortnight' is not a period; use today, yesterday, week, month or <N>d (e.g. 30d)"
    )


def test_costs_of_a_service_need_view_on_it(api, spend):
    api("dave")  # makes dave, with no grant yet
    dave = get_user_model().objects.get(username="dave")
    Grant.objects.create(user=dave, action="view", service=Service.objects.get(name="api"))

    assert api("dave").get("/api/v1/costs/summary/?service=api").status_code == 200
    refused = api("dave").get("/api/v1/costs/summary/?service=web-app")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "dave may not view history web-app: ask an admin for the 'view' grant."


def follow(client, url: str, link: str = "next") -> list[dict]:
    """Every page from `url` on, following `link`."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        pages.append(response.json())
        url = pages[-1][link]
    return pages


@pytest.mark.parametrize(
    "query",
    ["", "&group_by=service", "&service=web-app", "&service=web-app&group_by=service"],
    ids=["by AWS service", "by service", "one service by AWS service", "one service by service"],
)
def test_daily_pages_add_up_to_every_row_and_keep_the_filters(api, spend, query, monkeypatch):
    monkeypatch.setattr(reports, "DAILY_PAGE_SIZE", 3)
    start, end = spend["start"], spend["end"]
    service = "web-app" if "service=web-app" in query else None
    group_by = "service" if "group_by=service" in query else "aws_service"
    every = s.DailyRowSerializer(reports.daily(start, end, service, group_by=group_by), many=True).data
    client = api("carol")

    pages = follow(client, f"/api/v1/costs/daily/?start={start}&end={end}{query}")

    assert [row for page in pages for row in page["rows"]] == every
    assert all(0 < len(page["rows"]) <= 3 for page in pages) and len(pages) > 1
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    for page in pages[1:]:
        assert (page["start"], page["end"], page["group_by"], page["service"]) == (
            str(start),
            str(end),
            group_by,
            service,
        )
    back = follow(client, pages[-1]["previous"], "previous")
    assert [row for page in reversed(back) for row in page["rows"]] + pages[-1]["rows"] == every


def test_a_page_is_read_from_the_database_a_page_at_a_time(spend):
    start, end = spend["start"], spend["end"]

    first = reports.daily_page(start, end, group_by="service", size=4)
    after = first.rows[-1]
    second = reports.daily_page(start, end, group_by="service", after=(after.day, after.group), size=4)

    every = reports.daily(start, end, group_by="service")
    assert first.rows == every[:4] and second.rows == every[4:8]
    assert (first.more_before, first.more_after, second.more_before) == (False, True, True)


def test_a_bad_cursor_is_a_400(api, spend):
    client = api("carol")
    for cursor in ("after=not-a-cursor", "before=bm9wZQ"):
        response = client.get(f"/api/v1/costs/daily/?{cursor}")
        assert response.status_code == 400
        assert "That cursor is broken" in response.json()["detail"]
