"""CPU and memory of EC2 instances, ECS services and EKS clusters, read from CloudWatch.

All resources of one region are read with ONE `GetMetricData` request (every query batched; AWS
allows 500 per request, and pages are followed), over the last hour at one-minute resolution:
- EC2: `AWS/EC2 CPUUtilization`; memory only exists where the CloudWatch agent publishes
  `CWAgent mem_used_percent` with the single dimension `InstanceId` (dimensions must match exactly);
- ECS: `AWS/ECS CPUUtilization` / `MemoryUtilization` by `ClusterName` + `ServiceName`;
- EKS: Container Insights `node_cpu_utilization` / `node_memory_utilization` by `ClusterName`.
See https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError
from django.utils import timezone

from integrations.aws import client

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import GetMetricDataInputTypeDef, MetricDataQueryTypeDef

log = logging.getLogger("chatops.aws")

WINDOW = timedelta(hours=1)
PERIOD = 60  # seconds; basic EC2 monitoring only has a point every 5 minutes, which still fits
MAX_QUERIES = 500
# How far the latest value must stand from the hour's average to count as rising or falling.
TREND_POINTS = 5.0


class AWSNotConnected(Exception):
    """No credentials or no region: nothing can be asked. The message says which."""


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Resource:
    """One thing /status watches, named as people know it: `EC2 i-0123...`, `ECS prod/web`, `EKS main`."""

    kind: str
    name: str
    cpu: Metric
    memory: Metric

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def ec2(instance_id: str) -> Resource:
    dimensions = (("InstanceId", instance_id),)
    return Resource(
        "EC2",
        instance_id,
        Metric("AWS/EC2", "CPUUtilization", dimensions),
        Metric("CWAgent", "mem_used_percent", dimensions),
    )


def ecs(cluster: str, service: str) -> Resource:
    dimensions = (("ClusterName", cluster), ("ServiceName", service))
    return Resource(
        "ECS",
        f"{cluster}/{service}",
        Metric("AWS/ECS", "CPUUtilization", dimensions),
        Metric("AWS/ECS", "MemoryUtilization", dimensions),
    )


def eks(cluster: str) -> Resource:
    dimensions = (("ClusterName", cluster),)
    return Resource(
        "EKS",
        cluster,
        Metric("ContainerInsights", "node_cpu_utilization", dimensions),
        Metric("ContainerInsights", "node_memory_utilization", dimensions),
    )


@dataclass
class Series:
    """One metric over the window, latest value first; empty means no data; `error` when AWS refused it."""

    values: list[float] = field(default_factory=list)
    error: str = ""
    times: list[datetime] = field(default_factory=list)  # when each value was measured, as `values` are ordered

    @property
    def latest(self) -> int | None:
        return round(self.values[0]) if self.values else None

    @property
    def low(self) -> int:
        return round(min(self.values))

    @property
    def high(self) -> int:
        return round(max(self.values))

    @property
    def trend(self) -> str:
        """↑ rising, ↓ falling, → steady: the latest value against the average of the hour before it."""
        if len(self.values) < 2:
            return "→"
        earlier = self.values[1:]
        change = self.values[0] - sum(earlier) / len(earlier)
        if change >= TREND_POINTS:
            return "↑"
        if change <= -TREND_POINTS:
            return "↓"
        return "→"


@dataclass
class Reading:
    resource: Resource
    cpu: Series
    memory: Series


def read(resources: list[Resource], region: str | None, now: datetime | None = None) -> dict[Resource, Reading]:
    """The last hour of CPU and memory of each resource, all in one request per region.

    Raises `AWSNotConnected` without credentials or region. Any other AWS error is put on the
    resources it concerns, so one failing query never hides the others.
    """
    resources = list(dict.fromkeys(resources))
    if not resources:
        return {}
    queries: dict[str, tuple[Resource, str]] = {}
    for resource in resources:
        for which in ("cpu", "memory"):
            queries[f"q{len(queries)}"] = (resource, which)
    series = {query_id: Series() for query_id in queries}
    end = (now or timezone.now()).replace(second=0, microsecond=0) + timedelta(minutes=1)
    ids = list(queries)
    for start in range(0, len(ids), MAX_QUERIES):
        batch = ids[start : start + MAX_QUERIES]
        try:
            _fetch(batch, queries, series, region, end)
        except (NoCredentialsError, PartialCredentialsError, NoRegionError) as exc:
            raise AWSNotConnected(str(exc)) from None
        except (ClientError, BotoCoreError) as exc:
            log.warning("GetMetricData in %s failed: %s", region or "the default region", exc)
            for query_id in batch:
                series[query_id] = Series(error=short(exc))
    readings = {resource: Reading(resource, Series(), Series()) for resource in resources}
    for query_id, (resource, which) in queries.items():
        setattr(readings[resource], which, series[query_id])
    return readings


def _fetch(
    ids: list[str],
    queries: dict[str, tuple[Resource, str]],
    series: dict[str, Series],
    region: str | None,
    end: datetime,
) -> None:
    request: GetMetricDataInputTypeDef = {
        "MetricDataQueries": [_query(query_id, getattr(*queries[query_id])) for query_id in ids],
        "StartTime": end - WINDOW,
        "EndTime": end,
        "ScanBy": "TimestampDescending",
    }
    cloudwatch = client("cloudwatch", region)
    while True:
        answer = cloudwatch.get_metric_data(**request)
        for result in answer["MetricDataResults"]:
            found = series[result["Id"]]
            if result.get("StatusCode") in {"Forbidden", "InternalError"}:
                messages = "; ".join(m.get("Value", "") for m in result.get("Messages", []))
                found.error = messages or result["StatusCode"]
            found.values.extend(result.get("Values", []))
            found.times.extend(result.get("Timestamps", []))
        if not answer.get("NextToken"):
            return
        request["NextToken"] = answer["NextToken"]


def _query(query_id: str, metric: Metric) -> MetricDataQueryTypeDef:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": metric.namespace,
                "MetricName": metric.name,
                "Dimensions": [{"Name": name, "Value": value} for name, value in metric.dimensions],
            },
            "Period": PERIOD,
            "Stat": "Average",
        },
        "ReturnData": True,
    }


def short(exc: Exception) -> str:
    """AWS's reason in a few words: `AccessDenied: not authorized to ...`."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc)
