"""The README's production start (`make prod`) on PostgreSQL + Redis with two qclusters, run as a user would.

It creates its own database and queue name, so it runs beside any other suite on the same servers, and
it runs whatever database the rest of the suite uses.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest
import requests

from tests.services import REDIS_URL, reachable, redis_reachable

ROOT = Path(__file__).resolve().parents[2]
SERVER = "postgres://postgres@127.0.0.1:5432"
ACTIVE = ("dispatching", "running")

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """`make prod` with the documented production settings, on a database and queue of its own."""
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432; the production test needs it")
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379; the production test needs it")
    name = f"chatops_prod_e2e_{os.getpid()}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    port, logs = free_port(), tmp_path_factory.mktemp("prod") / "output.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHATOPS_", "PROMETHEUS_"))},
        # The README's production settings.
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_HTTPS": "true",
        "DATABASE_URL": f"{SERVER}/{name}",
        "REDIS_URL": REDIS_URL,
        "CHATOPS_LOG_FORMAT": "json",
        "METRICS_BEARER_TOKEN": secrets.token_urlsafe(24),
        # This test's own queue, port and metrics directory; small sizes for a small machine.
        "CHATOPS_QUEUE_NAME": f"chatops-prod-e2e-{os.getpid()}",
        "CHATOPS_QUEUE_WORKERS": "2",
        "CHATOPS_RATE_LIMIT": "100/m",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "QCLUSTERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with open(logs, "wb") as output:
        # `-o .venv/.installed`: use the installed environment as it is, never reinstall during a test.
        make = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "prod"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: requests.get(f"{url}/healthz", timeout=2).ok, 120, make, logs)
        _manage(env, "shell", "-v", "0", "-c", "from chatops_site.demo import seed_catalog; seed_catalog(delay='0.5s')")
        yield {"env": env, "url": url, "db": f"{SERVER}/{name}", "logs": logs}
    finally:
        _stop(make)
        print(logs.read_text(errors="replace")[-4000:])  # shown when a test fails
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _stop(make: subprocess.Popen) -> None:
    """Stop make, gunicorn and the qclusters: they share the session `make` leads.

    All of them get SIGTERM at once, and a qcluster that is sent it while already on its way out can hang
    in django-q2's signal handler, so whatever is left after the grace period is killed: no process of
    this test outlives it.
    """
    try:
        os.killpg(make.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15  # nothing is in flight: a clean stop takes a few seconds
    while time.monotonic() < deadline:
        make.poll()  # reaped, so that it no longer counts as a member of its group
        try:
            os.killpg(make.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        os.killpg(make.pid, signal.SIGKILL)
    make.wait()


def _wait_for(ready, seconds: float, process, logs: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"make prod stopped:\n{logs.read_text(errors='replace')[-4000:]}"
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready after {seconds}s:\n{logs.read_text(errors='replace')[-4000:]}")


def _manage(env, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _console(env, *args) -> subprocess.CompletedProcess:
    return _manage(env, "chatops", *args, "--timeout", "90")


def _rows(production, sql: str, *params) -> list[tuple]:
    with psycopg.connect(production["db"]) as db:
        return db.execute(sql, params).fetchall()


def https(production, path: str, **headers) -> requests.Response:
    """Through the TLS proxy production sits behind (it sets X-Forwarded-Proto)."""
    return requests.get(production["url"] + path, headers={"X-Forwarded-Proto": "https", **headers}, timeout=10)


def test_check_deploy_has_no_security_warning_with_the_documented_settings(production):
    checked = _manage(production["env"], "check", "--deploy")

    assert checked.returncode == 0, checked.stderr
    assert "security." not in checked.stdout + checked.stderr


def test_the_admin_and_its_css_are_served_with_debug_off(production):
    login = https(production, "/admin/login/")
    css = https(production, "/static/admin/css/base.css")
    plain = requests.get(production["url"] + "/admin/login/", allow_redirects=False, timeout=10)

    assert login.status_code == 200 and "/static/admin/css/base.css" in login.text
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    assert requests.get(production["url"] + "/readyz", timeout=10).json()["checks"] == {
        "database": "ok",
        "broker": "ok",
    }


def test_the_console_deploy_flow_runs_through_two_qclusters(production):
    env = production["env"]

    deployed = _console(env, "--as", "alice", "/deploy web-app staging v1")
    asked = _console(env, "--as", "alice", "/deploy web-app prod v1")
    [(prod_id,)] = _rows(production, "SELECT d.id FROM deploys_deployment d WHERE d.state = 'awaiting_approval'")
    approved = _console(env, "--as", "bob", f"/approve {prod_id}")

    assert deployed.returncode == 0 and "succeeded" in deployed.stdout, deployed.stdout + deployed.stderr
    assert asked.returncode == 0 and "waiting for approval" in asked.stdout
    assert approved.returncode == 0 and "succeeded" in approved.stdout, approved.stdout + approved.stderr
    states = _rows(production, "SELECT state FROM deploys_deployment ORDER BY id")
    assert states[-2:] == [("succeeded",), ("succeeded",)]


def test_twenty_concurrent_deploys_of_one_target_never_have_two_active(production):
    env = production["env"]
    [(target,)] = _rows(
        production,
        "SELECT t.id FROM catalog_deploytarget t JOIN catalog_service s ON s.id = t.service_id "
        "JOIN catalog_environment e ON e.id = t.environment_id WHERE s.name = 'api' AND e.name = 'staging'",
    )
    most_active = 0

    def press(n: int) -> subprocess.CompletedProcess:
        return _console(env, "--as", "alice", "--no-wait", f"/deploy api staging v{n}")

    with ThreadPoolExecutor(20) as pool:
        pressed = pool.map(press, range(20))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            counts = dict(
                _rows(
                    production,
                    "SELECT state, count(*) FROM deploys_deployment WHERE target_id = %s GROUP BY state",
                    target,
                )
            )
            most_active = max(most_active, sum(counts.get(s, 0) for s in ACTIVE))
            if counts.get("succeeded") == 20:
                break
            time.sleep(0.05)
        pressed = list(pressed)

    assert all(p.returncode == 0 for p in pressed), [p.stdout + p.stderr for p in pressed if p.returncode]
    assert most_active == 1
    assert _rows(
        production, "SELECT state, count(*) FROM deploys_deployment WHERE target_id = %s GROUP BY state", target
    ) == [("succeeded", 20)]
    # From the audit trail: each run started after the one before it had ended.
    spans = _rows(
        production,
        "SELECT min(e.created_at) FILTER (WHERE e.to_state = 'dispatching'), "
        "max(e.created_at) FILTER (WHERE e.to_state = 'succeeded') "
        "FROM deploys_deploymentevent e JOIN deploys_deployment d ON d.id = e.deployment_id "
        "WHERE d.target_id = %s GROUP BY d.id ORDER BY 1",
        target,
    )
    assert all(ended <= next_started for (_, ended), (next_started, _) in pairwise(spans))


def test_metrics_add_up_the_web_and_queue_processes(production):
    token = production["env"]["METRICS_BEARER_TOKEN"]

    refused = requests.get(production["url"] + "/metrics", timeout=10)
    page = requests.get(production["url"] + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    assert refused.status_code == 401 and page.status_code == 200
    # Deployments end inside the qcluster workers; the web process reports them from the shared directory.
    assert 'chatops_deployments_total{provider="simulated",result="succeeded"}' in page.text
    assert 'chatops_commands_total{command="deploy",outcome="ok",platform="console"}' in page.text
    assert "chatops_queue_depth{queue=" in page.text


def test_the_logs_are_json_lines_with_request_ids_and_no_secrets(production):
    env, text = production["env"], production["logs"].read_text(errors="replace")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    assert env["DJANGO_SECRET_KEY"] not in text and env["METRICS_BEARER_TOKEN"] not in text
    transitions = {}
    for line in lines:
        if line.get("logger") == "chatops.deploys" and " -> " in line["message"]:
            transitions.setdefault(line["message"].split(" ")[0], []).append(line)
    assert transitions, text[-3000:]
    # Each deployment's start, dispatch and checks ran as separate tasks in the qclusters, under the id
    # of the console command that asked for it. A deployment waiting its turn may be started by the
    # minute sweep before its start_next task comes; then the steps carry the sweep's id instead.
    for steps in transitions.values():
        tasks = {step["task"] for step in steps}
        assert "dispatch" in tasks and tasks & {"start_next", "sweep"}, tasks
        assert len({step["request_id"] for step in steps}) == 1
