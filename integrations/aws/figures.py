"""The CPU and memory figures of our services' AWS resources, as /status and the watch after a deploy read them.

One `GetMetricData` request per region for every resource asked about (see `cloudwatch`), and what EC2 and ECS
say of each resource (see `inventory`), cached for 30 s: a /status and a watch in the same half-minute cost AWS
one request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache

from chatops_site.catalog.models import Service
from integrations.aws import cloudwatch, inventory
from integrations.aws.cloudwatch import AWSNotConnected, Reading, Resource

CACHE_SECONDS = 30
CONNECT_AWS = (
    "AWS is not connected ({reason}), so there are no CPU or memory figures. Give ChatOps AWS "
    "credentials (an IAM role, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) with "
    "cloudwatch:GetMetricData, and AWS_DEFAULT_REGION or a region per service in the catalog."
)


def resources_of(service: Service) -> list[Resource]:
    return [
        *(cloudwatch.ec2(instance) for instance in service.ec2_instances),
        *(cloudwatch.ecs(pair["cluster"], pair["service"]) for pair in service.ecs_services),
        *(cloudwatch.eks(cluster) for cluster in service.eks_clusters),
    ]


@dataclass
class Figures:
    """What AWS says about the resources of one answer."""

    readings: dict[Resource, Reading] = field(default_factory=dict)
    states: dict[Resource, str] = field(default_factory=dict)  # "running", "2/3 tasks"...
    note: str = ""  # why there are no figures, when there are none
    not_connected: str = ""  # boto3's reason, when AWS could not be asked at all


def figures_of(services: list[Service]) -> Figures:
    """Every resource's figures (one GetMetricData request per region) and state, cached for 30 s."""
    by_region: dict[str | None, list[Resource]] = {}
    for service in services:
        by_region.setdefault(service.aws_region or None, []).extend(resources_of(service))
    if not any(by_region.values()):
        names = services[0].name if len(services) == 1 else "any service"
        return Figures(
            note=f"No AWS resources are listed for {names}: add them (`aws:` in the catalog file, or the admin) "
            "to see CPU and memory here."
        )
    watched = repr(sorted((str(region), sorted(map(str, resources))) for region, resources in by_region.items()))
    cache_key = "chatops:status:" + hashlib.sha256(watched.encode()).hexdigest()
    figures = cache.get(cache_key)
    if figures is not None:
        return figures
    figures = Figures()
    try:
        for region, resources in by_region.items():
            figures.readings.update(cloudwatch.read(resources, region))
            figures.states.update(inventory.describe(resources, region))
    except AWSNotConnected as exc:
        return Figures(note=CONNECT_AWS.format(reason=exc), not_connected=str(exc))
    cache.set(cache_key, figures, CACHE_SECONDS)
    return figures
