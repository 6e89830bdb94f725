"""What EC2 and ECS say about the resources /status watches: an instance's state, a service's task count.

It explains the figures ("no data" from a stopped instance is not an outage) and costs one
`DescribeInstances` per region and one `DescribeServices` per ECS cluster (10 services a call). A
failing lookup only leaves the state out; it never hides the CloudWatch figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from botocore.exceptions import BotoCoreError, ClientError

from integrations.aws import client
from integrations.aws.cloudwatch import Resource

log = logging.getLogger("chatops.aws")

ECS_BATCH = 10  # DescribeServices takes at most 10 services


def describe(resources: list[Resource], region: str | None) -> dict[Resource, str]:
    """A few words per resource: `running`, `stopped`, `not found`, `2/3 tasks`..."""
    states: dict[Resource, str] = {}
    instances = [r for r in resources if r.kind == "EC2"]
    if instances:
        states.update(_lookup("DescribeInstances", lambda: _instances(instances, region)))
    clusters: dict[str, list[Resource]] = {}
    for resource in resources:
        if resource.kind == "ECS":
            clusters.setdefault(dict(resource.cpu.dimensions)["ClusterName"], []).append(resource)
    for cluster, services in clusters.items():
        for start in range(0, len(services), ECS_BATCH):
            batch = services[start : start + ECS_BATCH]
            states.update(_lookup("DescribeServices", partial(_services, cluster, batch, region)))
    return states


def _lookup(what: str, call: Callable[[], dict[Resource, str]]) -> dict[Resource, str]:
    try:
        return call()
    except (ClientError, BotoCoreError) as exc:
        log.warning("%s failed: %s", what, exc)
        return {}


def _instances(resources: list[Resource], region: str | None) -> dict[Resource, str]:
    by_id = {resource.name: resource for resource in resources}
    # A filter, not InstanceIds: one unknown id would fail the whole call.
    pages = (
        client("ec2", region)
        .get_paginator("describe_instances")
        .paginate(Filters=[{"Name": "instance-id", "Values": list(by_id)}])
    )
    states = dict.fromkeys(resources, "not found")
    for page in pages:
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                if instance["InstanceId"] in by_id:
                    states[by_id[instance["InstanceId"]]] = instance["State"]["Name"]
    return states


def _services(cluster: str, resources: list[Resource], region: str | None) -> dict[Resource, str]:
    by_name = {dict(resource.cpu.dimensions)["ServiceName"]: resource for resource in resources}
    try:
        answer = client("ecs", region).describe_services(cluster=cluster, services=list(by_name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ClusterNotFoundException":
            return dict.fromkeys(resources, "cluster not found")
        raise
    states = dict.fromkeys(resources, "not found")
    for service in answer["services"]:
        if service["serviceName"] in by_name:
            states[by_name[service["serviceName"]]] = f"{service['runningCount']}/{service['desiredCount']} tasks"
    return states
