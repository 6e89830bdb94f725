"""A console /deploy goes through a real `qcluster` process, with the ORM broker and with Redis."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from chatops_site.demo import seed_catalog
from chatops_site.deploys.models import Deployment
from tests.services import REDIS_URL, database_url, redis_reachable

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _environment(broker: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # qcluster refuses the development key
        "DATABASE_URL": database_url(),
        "CHATOPS_QUEUE_NAME": f"chatops-e2e-{os.getpid()}-{broker}",
        "CHATOPS_QUEUE_WORKERS": "2",
    }
    env.pop("REDIS_URL", None)
    if broker == "redis":
        env["REDIS_URL"] = REDIS_URL
    return env


@pytest.fixture(params=["orm", "redis"])
def cluster(request):
    """A qcluster process on the test database, stopped after the test."""
    if request.param == "redis" and not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379; the Redis broker test needs it")
    env = _environment(request.param)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    yield env
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output.decode(errors="replace")[-3000:])  # shown when the test fails


def _console(env, *args) -> subprocess.CompletedProcess:
    command = [sys.executable, "manage.py", "chatops", *args, "--timeout", "60"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=False)


def test_console_deploy_reaches_succeeded_through_the_queue(cluster):
    seed_catalog(delay="1s")

    result = _console(cluster, "--as", "alice", "/deploy web-app staging")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Deploy #" in result.stdout and "succeeded" in result.stdout
    deployment = Deployment.objects.get()
    assert deployment.state == "succeeded"
    assert list(deployment.events.values_list("to_state", flat=True)) == [
        "queued",
        "dispatching",
        "running",
        "succeeded",
    ]


def test_prod_waits_for_bob_then_runs_to_the_end(cluster):
    seed_catalog(delay="1s")

    asked = _console(cluster, "--as", "alice", "/deploy web-app prod")
    deployment = Deployment.objects.get()
    own = _console(cluster, "--as", "alice", f"/approve {deployment.pk}")
    approved = _console(cluster, "--as", "bob", f"/approve {deployment.pk}")

    assert asked.returncode == 0 and "waiting for approval" in asked.stdout
    assert own.returncode != 0 and "someone else must approve" in own.stdout
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "succeeded" in approved.stdout
    deployment.refresh_from_db()
    assert deployment.state == "succeeded"
    assert deployment.approval.approver.username == "bob"
