"""EC2 and ECS lookups: the state /status shows beside an instance's or a service's figures."""

from __future__ import annotations

from botocore.stub import Stubber

from integrations.aws import client, cloudwatch, inventory
from tests.aws.conftest import REGION


def launch_instance(region: str = REGION) -> str:
    ec2 = client("ec2", region)
    return ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def run_ecs_service(cluster: str, service: str, desired: int, region: str = REGION) -> None:
    ecs = client("ecs", region)
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family=service, containerDefinitions=[{"name": service, "image": "web", "memory": 128}]
    )
    ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=service, desiredCount=desired)


def test_instances_show_their_state_and_unknown_ones_say_so(aws):
    running, stopped = launch_instance(), launch_instance()
    client("ec2", REGION).stop_instances(InstanceIds=[stopped])
    resources = [cloudwatch.ec2(running), cloudwatch.ec2(stopped), cloudwatch.ec2("i-0123456789abcdef0")]

    states = inventory.describe(resources, REGION)

    assert [states[r] for r in resources] == ["running", "stopped", "not found"]


def test_ecs_services_show_running_and_desired_tasks(aws):
    run_ecs_service("prod", "web", desired=3)
    resources = [cloudwatch.ecs("prod", "web"), cloudwatch.ecs("prod", "gone"), cloudwatch.ecs("nowhere", "web")]

    states = inventory.describe(resources, REGION)

    assert [states[r] for r in resources] == ["0/3 tasks", "not found", "cluster not found"]


def test_a_failing_lookup_leaves_the_state_out(aws):
    with Stubber(client("ec2", REGION)) as stub:
        stub.add_client_error("describe_instances", "UnauthorizedOperation", "not allowed")
        assert inventory.describe([cloudwatch.ec2("i-0123456789abcdef0"), cloudwatch.eks("main")], REGION) == {}
