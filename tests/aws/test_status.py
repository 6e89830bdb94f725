"""/status through the engine: an acknowledgement at once, then the answer from a task, with CloudWatch figures."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bots.command_engine import handle
from bots.models import ConsoleMessage
from bots.types import Invocation
from chatops_site.catalog.models import Service
from chatops_site.demo import seed_catalog
from integrations.aws import client
from tests.aws.test_inventory import launch_instance, run_ecs_service

INSTANCE = "i-0123456789abcdef0"
CATALOG = """
services:
  - name: web-app
    aws:
      ec2_instances: [{instance}]
      ecs: [{{cluster: prod, service: web}}]
      eks_clusters: [main]
    targets:
      dev: {{provider: simulated, settings: {{delay: 0s}}, channel: "console:ops"}}
"""


def answer_to(reply) -> str:
    """The follow-up the task sent to the console for this command."""
    return ConsoleMessage.objects.get(run_id=reply.run_id, final=True).text


def give_web_app(**aws):
    Service.objects.filter(name="web-app").update(**aws)


def test_catalog_apply_then_status_shows_what_cloudwatch_holds(aws, transactional_db, tmp_path: Path):
    """The issue's "done when": a file gives web-app an instance and an ECS service; /status shows their figures."""
    seed_catalog(delay="0s")
    instance = launch_instance()
    run_ecs_service("prod", "web", desired=2)
    aws("AWS/EC2", "CPUUtilization", {"InstanceId": instance}, [35, 40, 44.4])
    aws("CWAgent", "mem_used_percent", {"InstanceId": instance}, [61])
    aws("AWS/ECS", "CPUUtilization", {"ClusterName": "prod", "ServiceName": "web"}, [93])
    aws("AWS/ECS", "MemoryUtilization", {"ClusterName": "prod", "ServiceName": "web"}, [70, 80])
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG.format(instance=instance))
    call_command("catalog", "apply", str(path), stdout=StringIO())

    out = StringIO()
    call_command("chatops", "--as", "alice", "/status web-app", stdout=out, stderr=StringIO())

    assert out.getvalue().splitlines() == [
        "Checking web-app...",
        "🔴 web-app",
        "  dev        nothing deployed yet",
        "  staging    nothing deployed yet",
        "  prod       nothing deployed yet",
        f"  🟢 EC2 {instance} (running)  CPU 44% ↑ (1h 35-44%)   memory 61% → (1h 61-61%)",
        "  🔴 ECS prod/web (0/2 tasks)  CPU 93% → (1h 93-93%)   memory 80% ↑ (1h 70-80%)",
        "  ⚪ EKS main  no data",
    ]


def test_the_command_answers_before_any_aws_call(aws, say, django_capture_on_commit_callbacks):
    give_web_app(ec2_instances=[INSTANCE])
    with django_capture_on_commit_callbacks() as queued:  # the task is held back: nothing ran yet
        invocation = Invocation.from_line(
            "/status web-app", platform="console", workspace="local", chat_user_id="carol"
        )
        reply = handle(invocation)

    assert (reply.text, reply.deferred) == ("Checking web-app...", True)
    assert len(queued) == 1 and not ConsoleMessage.objects.exists()


def test_the_answer_is_cached_for_thirty_seconds(aws, say, get_metric_data_calls):
    give_web_app(ec2_instances=[INSTANCE])
    aws("AWS/EC2", "CPUUtilization", {"InstanceId": INSTANCE}, [50])

    first = answer_to(say("carol", "/status web-app"))
    second = answer_to(say("alice", "/status web-app"))

    assert len(get_metric_data_calls) == 1
    assert first == second and "CPU 50%" in first


def test_every_service_is_summarised_worst_first(aws, say):
    Service.objects.filter(name="api").update(ecs_services=[{"cluster": "prod", "service": "api"}])
    give_web_app(ec2_instances=[INSTANCE], thresholds={"cpu_warn": 40})
    aws("AWS/ECS", "CPUUtilization", {"ClusterName": "prod", "ServiceName": "api"}, [20])
    aws("AWS/ECS", "MemoryUtilization", {"ClusterName": "prod", "ServiceName": "api"}, [30])
    aws("AWS/EC2", "CPUUtilization", {"InstanceId": INSTANCE}, [45])

    lines = answer_to(say("carol", "/status")).splitlines()

    headings = [line for line in lines if not line.startswith(" ")]
    assert headings == [
        f"🟡 web-app  CPU 45% · memory no data  (worst: EC2 {INSTANCE})",
        "🟢 api  CPU 20% · memory 30%  (worst: ECS prod/api)",
        "worker",
    ]


def test_one_failing_region_does_not_hide_the_others(aws, say):
    give_web_app(ec2_instances=[INSTANCE])
    Service.objects.filter(name="api").update(aws_region="eu-west-1", eks_clusters=["eu"])
    aws("AWS/EC2", "CPUUtilization", {"InstanceId": INSTANCE}, [10])

    with Stubber(client("cloudwatch", "eu-west-1")) as stub:
        stub.add_client_error("get_metric_data", "AccessDenied", "no GetMetricData in eu-west-1")
        stub.add_client_error("get_metric_data", "AccessDenied", "no GetMetricData in eu-west-1")
        summary = answer_to(say("carol", "/status"))
        detail = answer_to(say("carol", "/status api")).splitlines()

    assert f"🟢 web-app  CPU 10% · memory no data  (worst: EC2 {INSTANCE})" in summary
    assert "⚠️ api  CPU no data · memory no data  (worst: EKS eu)" in summary
    error = "error: AccessDenied: no GetMetricData in eu-west-1"
    assert detail[0] == "⚠️ api"
    assert detail[-1] == f"  ⚠️ EKS eu  CPU {error}   memory {error}"


def test_without_aws_credentials_it_still_shows_deployments_and_how_to_connect(no_aws, say):
    give_web_app(ec2_instances=[INSTANCE])
    say("alice", "/deploy web-app dev v7")

    text = answer_to(say("carol", "/status web-app"))

    assert text.splitlines()[1].startswith("  dev        v7  (#")
    assert "AWS is not connected (Unable to locate credentials)" in text
    assert "cloudwatch:GetMetricData" in text


def test_a_service_without_aws_resources_says_how_to_add_them(say):
    text = answer_to(say("carol", "/status worker dev"))

    assert text.splitlines() == [
        "worker",
        "  dev        nothing deployed yet",
        "No AWS resources are listed for worker: add them (`aws:` in the catalog file, or the admin) "
        "to see CPU and memory here.",
    ]


def test_commands_that_arrived_before_a_read_share_it(no_aws, say, django_capture_on_commit_callbacks):
    """A burst of /status is answered from one read, made after every one of them arrived."""
    with django_capture_on_commit_callbacks() as queued:  # both tasks wait, as in a busy queue
        first, second = (
            handle(Invocation.from_line("/status web-app", platform="console", workspace="local", chat_user_id=who))
            for who in ("carol", "alice")
        )
    queued[0]()

    with CaptureQueriesContext(connection) as reads:
        queued[1]()

    assert answer_to(first) == answer_to(second)
    assert not any("deploys_deployment" in query["sql"] for query in reads.captured_queries)


def test_a_command_after_a_change_never_gets_a_read_from_before_it(no_aws, say):
    """The status a command gets was read after it arrived, so it shows what happened before it."""
    before = answer_to(say("carol", "/status web-app"))
    say("alice", "/deploy web-app dev v7")

    after = answer_to(say("carol", "/status web-app"))

    assert "nothing deployed yet" in before.splitlines()[1]
    assert after.splitlines()[1].startswith("  dev        v7  (#")


@pytest.fixture
def say(catalog, say):
    return say
