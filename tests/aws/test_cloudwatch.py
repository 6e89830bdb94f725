"""Reading CPU and memory back from CloudWatch (moto computes GetMetricData from put_metric_data)."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from integrations.aws import client, cloudwatch
from integrations.aws.cloudwatch import AWSNotConnected
from tests.aws.conftest import REGION


def test_every_resource_is_read_back_with_one_request(aws, get_metric_data_calls):
    aws("AWS/EC2", "CPUUtilization", {"InstanceId": "i-0123456789abcdef0"}, [30, 35, 41.6])
    aws("CWAgent", "mem_used_percent", {"InstanceId": "i-0123456789abcdef0"}, [60.2])
    aws("AWS/ECS", "CPUUtilization", {"ClusterName": "prod", "ServiceName": "web"}, [12, 80, 20])
    aws("AWS/ECS", "MemoryUtilization", {"ClusterName": "prod", "ServiceName": "web"}, [50])
    aws("ContainerInsights", "node_cpu_utilization", {"ClusterName": "main"}, [91])
    aws("ContainerInsights", "node_memory_utilization", {"ClusterName": "main"}, [77])
    instance, service, cluster = (
        cloudwatch.ec2("i-0123456789abcdef0"),
        cloudwatch.ecs("prod", "web"),
        cloudwatch.eks("main"),
    )

    readings = cloudwatch.read([instance, service, cluster], None)

    assert len(get_metric_data_calls) == 1 and len(get_metric_data_calls[0]["MetricDataQueries"]) == 6
    assert (readings[instance].cpu.latest, readings[instance].memory.latest) == (42, 60)
    assert (readings[service].cpu.latest, readings[service].cpu.low, readings[service].cpu.high) == (20, 12, 80)
    assert (readings[cluster].cpu.latest, readings[cluster].memory.latest) == (91, 77)
    assert readings[instance].cpu.trend == "↑"


def test_a_resource_without_data_reads_as_empty(aws):
    aws("AWS/EC2", "CPUUtilization", {"InstanceId": "i-0aaaaaaaaaaaaaaaa"}, [10])
    quiet = cloudwatch.ecs("prod", "idle")

    readings = cloudwatch.read([cloudwatch.ec2("i-0aaaaaaaaaaaaaaaa"), quiet], REGION)

    assert readings[quiet].cpu.latest is None and readings[quiet].memory.latest is None
    assert readings[quiet].cpu.error == ""


def test_memory_needs_the_agent_series_with_exactly_the_instance_dimension(aws):
    # The agent configured with extra dimensions publishes another series: it is not this instance's.
    aws("CWAgent", "mem_used_percent", {"InstanceId": "i-0bbbbbbbbbbbbbbbb", "ImageId": "ami-1"}, [55])
    instance = cloudwatch.ec2("i-0bbbbbbbbbbbbbbbb")

    assert cloudwatch.read([instance], REGION)[instance].memory.latest is None


@pytest.mark.parametrize(
    ("values", "arrow"), [([50, 50, 50], "→"), ([50, 50, 70], "↑"), ([80, 70, 60], "↓"), ([5], "→")]
)
def test_the_trend_compares_the_latest_value_with_the_hour_before(aws, values, arrow):
    aws("AWS/EC2", "CPUUtilization", {"InstanceId": "i-0cccccccccccccccc"}, values)
    instance = cloudwatch.ec2("i-0cccccccccccccccc")

    assert cloudwatch.read([instance], REGION)[instance].cpu.trend == arrow


def test_a_query_aws_refuses_is_an_error_on_that_resource_only(aws):
    allowed, refused = cloudwatch.ecs("prod", "web"), cloudwatch.ecs("secret", "vault")
    results = [
        {"Id": "q0", "Timestamps": [], "Values": [33.0], "StatusCode": "Complete"},
        {"Id": "q1", "Timestamps": [], "Values": [44.0], "StatusCode": "Complete"},
        {
            "Id": "q2",
            "Values": [],
            "StatusCode": "Forbidden",
            "Messages": [{"Code": "Forbidden", "Value": "no access"}],
        },
        {
            "Id": "q3",
            "Values": [],
            "StatusCode": "Forbidden",
            "Messages": [{"Code": "Forbidden", "Value": "no access"}],
        },
    ]
    with Stubber(client("cloudwatch", REGION)) as stub:
        stub.add_response("get_metric_data", {"MetricDataResults": results})
        readings = cloudwatch.read([allowed, refused], REGION)

    assert (readings[allowed].cpu.latest, readings[allowed].memory.latest) == (33, 44)
    assert readings[refused].cpu.error == "no access"


def test_a_failed_request_marks_its_resources_and_says_why(aws):
    instance = cloudwatch.ec2("i-0123456789abcdef0")
    with Stubber(client("cloudwatch", REGION)) as stub:
        stub.add_client_error("get_metric_data", "AccessDenied", "not allowed to GetMetricData")
        readings = cloudwatch.read([instance], REGION)

    assert readings[instance].cpu.error == "AccessDenied: not allowed to GetMetricData"


def test_without_credentials_it_says_aws_is_not_connected(no_aws):
    with pytest.raises(AWSNotConnected, match="credentials"):
        cloudwatch.read([cloudwatch.ec2("i-0123456789abcdef0")], REGION)
