"""A queue worker killed in the middle of a dispatch: the deployment still gets exactly one provider run.

The qcluster process (and its workers) is killed with SIGKILL while GitHub is still answering the
workflow dispatch; the next attempt, booked by the sweep once the claim's lease has run out, finds the
run the lost attempt started and follows it instead of dispatching again.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from chatops_site.catalog.models import DeployTarget
from chatops_site.demo import seed_catalog
from chatops_site.deploys.models import Deployment, State
from tests.services import database_url
from tests.stubs.github_api import DISPATCHES, GitHubStub

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _environment(github: GitHubStub) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # qcluster refuses the development key
        "CHATOPS_QUEUE_NAME": f"chatops-killed-{os.getpid()}",
        "CHATOPS_QUEUE_WORKERS": "1",
        "GITHUB_API_URL": github.url,
        "GITHUB_APP_ID": str(github.app_id),
        "GITHUB_APP_PRIVATE_KEY": github.private_pem,
    }
    for name in ("REDIS_URL", "GITHUB_TOKEN", "GITHUB_APP_PRIVATE_KEY_PATH"):
        env.pop(name, None)
    return env


def _start_cluster(env: dict[str, str]) -> subprocess.Popen:
    """A qcluster in a process group of its own, so that it dies with all its workers at once."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill(cluster: subprocess.Popen) -> None:
    os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait(timeout=10)


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=True
    )


def _until(condition, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("waited in vain")


def test_a_worker_killed_mid_dispatch_leaves_exactly_one_run(github):
    seed_catalog(delay="1s")
    DeployTarget.objects.filter(service__name="web-app", environment__name="staging").update(
        provider="github_actions", settings={"workflow": "deploy.yml", "ref": "main"}
    )
    github.tag("acme/web-app", "v1", github.head("acme/web-app"))
    github.run_details = False  # the run is found by the id in its name, as on GitHub Enterprise Server
    answered = github._dispatch

    def slow_dispatch(call):
        answer = answered(call)  # GitHub has started the run...
        time.sleep(30)  # ...and the worker that asked dies before it hears so
        return answer

    github.route("POST", DISPATCHES, slow_dispatch)
    env = _environment(github)
    cluster = _start_cluster(env)
    try:
        _manage(env, "chatops", "--as", "alice", "--no-wait", "/deploy web-app staging v1")
        _until(lambda: github.calls_to(DISPATCHES))
        time.sleep(0.5)
    finally:
        _kill(cluster)

    deployment = Deployment.objects.get()
    assert (deployment.state, deployment.dispatch_attempts) == (State.DISPATCHING, 1)
    # The claim's lease runs out (twice the task timeout); here at once rather than in two minutes.
    Deployment.objects.filter(pk=deployment.pk).update(next_check_at=timezone.now() - timedelta(seconds=1))
    github.route("POST", DISPATCHES, answered)
    cluster = _start_cluster(env)
    try:
        _manage(env, "shell", "-c", "from chatops_site.deploys import tasks; tasks.sweep()")
        _until(lambda: Deployment.objects.filter(pk=deployment.pk, state=State.RUNNING).exists())
    finally:
        _kill(cluster)

    deployment.refresh_from_db()
    [run] = github.runs.values()
    assert len(github.calls_to(DISPATCHES)) == 1
    assert (deployment.provider_run_id, deployment.dispatch_attempts) == (str(run["id"]), 2)
