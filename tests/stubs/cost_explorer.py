"""A Cost Explorer double: a real HTTP server speaking botocore's JSON 1.1 protocol for `ce`.

It holds daily costs per (day, AWS service, tag value) and answers `GetCostAndUsage` as AWS does: only
the days of `TimePeriod` (End excluded), grouped as `GroupBy` asks (tag keys come back `key$value`,
`key$` for untagged spend), `Estimated` per day, and a `NextPageToken` whenever more groups remain than
`page_size`; a day may continue on the next page. moto's canned results cannot do this. It also answers
`GetCostForecast` and `GetAnomalies`. Point boto3 at it with `AWS_ENDPOINT_URL_COST_EXPLORER=stub.url`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from tests.stubs import Answer, Call, StubServer

TARGET = "AWSInsightsIndexService."
ACCESS_KEY = "AKIATESTCOSTS"


def error(kind: str, message: str) -> Answer:
    return Answer(400, {"__type": kind, "Message": message}, {"Content-Type": "application/x-amz-json-1.1"})


class CostExplorer:
    """`CostExplorer(stub)`; `.add(day, "Amazon EC2", "web-app", "12.34")`; `.total(start, end, tag=...)`."""

    def __init__(self, stub: StubServer, tag_key: str = "service", page_size: int = 50) -> None:
        self.stub = stub
        self.tag_key = tag_key
        self.page_size = page_size
        self.costs: dict[tuple[date, str, str], Decimal] = defaultdict(Decimal)
        self.estimated: set[date] = set()
        self.forecast: Decimal | None = None  # None: DataUnavailableException, as for a young account
        self.anomalies: list[dict] = []
        stub.route("POST", r"/", self._dispatch)

    # What the double holds

    def add(self, day: date, aws_service: str, tag: str, amount) -> None:
        self.costs[day, aws_service, tag] += Decimal(str(amount))

    def total(self, start: date, end: date, tag: str | None = None) -> Decimal:
        """The spend from `start` to `end`, both included: what a correct report must say."""
        return sum(
            (a for (d, _, t), a in self.costs.items() if start <= d <= end and (tag is None or t == tag)), Decimal(0)
        )

    def requests(self, operation: str) -> list[Call]:
        return [c for c in self.stub.calls if c.header("x-amz-target") == TARGET + operation]

    # The API

    def _dispatch(self, call: Call) -> Answer:
        if not call.header("authorization").startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/"):
            return error("UnrecognizedClientException", "The security token included in the request is invalid.")
        operation = call.header("x-amz-target").removeprefix(TARGET)
        handler = {
            "GetCostAndUsage": self._cost_and_usage,
            "GetCostForecast": self._forecast,
            "GetAnomalies": self._anomalies,
        }.get(operation)
        if handler is None:
            return error("UnknownOperationException", f"the double does not know {operation}")
        return handler(call.json())

    def _cost_and_usage(self, body: dict) -> Answer | dict:
        try:
            start = date.fromisoformat(body["TimePeriod"]["Start"])
            end = date.fromisoformat(body["TimePeriod"]["End"])
        except (KeyError, ValueError):
            return error("ValidationException", "TimePeriod needs Start and End as YYYY-MM-DD")
        if start >= end:
            return error("ValidationException", "Start date must be before End date")
        if body.get("Granularity") != "DAILY":
            return error("ValidationException", "the double only serves DAILY granularity")
        metrics = body.get("Metrics") or []
        if not metrics:
            return error("ValidationException", "Metrics is required")
        group_by = body.get("GroupBy", [])
        if len(group_by) > 2:
            return error("ValidationException", "GroupBy takes at most 2 groups")
        # One slot per (day, group), or one empty slot for a day without spend; pages cut through slots.
        slots: list[tuple[date, tuple[str, ...] | None, Decimal]] = []
        by_day: dict[date, dict[tuple[str, ...], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for (day, aws_service, tag), amount in self.costs.items():
            if start <= day < end:
                by_day[day][tuple(self._key(g, aws_service, tag) for g in group_by)] += amount
        day = start
        while day < end:
            groups = by_day[day]
            if group_by and groups:
                slots += [(day, keys, amount) for keys, amount in sorted(groups.items())]
            else:
                slots.append((day, None, sum(groups.values(), Decimal(0))))
            day += timedelta(days=1)
        offset = int(body.get("NextPageToken") or 0)
        page = slots[offset : offset + self.page_size]
        results: list[dict] = []
        for day, keys, amount in page:
            if not results or results[-1]["TimePeriod"]["Start"] != day.isoformat():
                results.append(
                    {
                        "TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()},
                        "Total": {} if group_by else {m: {"Amount": str(amount), "Unit": "USD"} for m in metrics},
                        "Groups": [],
                        "Estimated": day in self.estimated,
                    }
                )
            if keys is not None:
                results[-1]["Groups"].append(
                    {"Keys": list(keys), "Metrics": {m: {"Amount": str(amount), "Unit": "USD"} for m in metrics}}
                )
        answer = {"GroupDefinitions": group_by, "ResultsByTime": results, "DimensionValueAttributes": []}
        if offset + self.page_size < len(slots):
            answer["NextPageToken"] = str(offset + self.page_size)
        return answer

    def _key(self, group: dict, aws_service: str, tag: str) -> str:
        if group["Type"] == "DIMENSION" and group["Key"] == "SERVICE":
            return aws_service
        if group["Type"] == "TAG":
            return f"{group['Key']}${tag if group['Key'] == self.tag_key else ''}"
        raise ValueError(f"the double cannot group by {group}")

    def _forecast(self, body: dict) -> Answer | dict:
        if body.get("Metric") not in {"UNBLENDED_COST", "BLENDED_COST", "AMORTIZED_COST"}:
            return error("ValidationException", f"Metric {body.get('Metric')!r} is not a forecast metric")
        if self.forecast is None:
            return error("DataUnavailableException", "Insufficient amount of historical data to generate forecast.")
        period = body["TimePeriod"]
        return {
            "Total": {"Amount": str(self.forecast), "Unit": "USD"},
            "ForecastResultsByTime": [{"TimePeriod": period, "MeanValue": str(self.forecast)}],
        }

    def _anomalies(self, body: dict) -> Answer | dict:
        if "StartDate" not in body.get("DateInterval", {}):
            return error("ValidationException", "DateInterval.StartDate is required")
        offset = int(body.get("NextPageToken") or 0)
        answer: dict = {"Anomalies": self.anomalies[offset : offset + 1]}  # one a page, to exercise paging
        if offset + 1 < len(self.anomalies):
            answer["NextPageToken"] = str(offset + 1)
        return answer
