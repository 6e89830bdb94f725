"""With debug off, the production start refuses a missing or development secret key, and says how to make one.

Each start runs in its own process with a clean environment, as an operator's shell would give it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from chatops_site.ops.production import MAKE_ONE, unsafe_secret_key

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEVELOPMENT_KEY = "django-insecure-development-key-set-DJANGO_SECRET_KEY"
# The README's production settings, on a SQLite file of the test's own.
PRODUCTION = {"DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_HTTPS": "true"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'start.sqlite3'}",
        "CHATOPS_QUEUE_NAME": f"production-start-{os.getpid()}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "1",
        **settings,
    }


STARTS = {
    "gunicorn": [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
    "qcluster": [sys.executable, "manage.py", "qcluster"],
    "runserver": [sys.executable, "manage.py", "runserver", "--noreload"],
    "check --deploy": [sys.executable, "manage.py", "check", "--deploy"],
}


def start(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("name", STARTS)
def test_each_start_refuses_to_run_without_a_secret_key(tmp_path, name):
    env = environment(tmp_path, PORT=str(free_port()), **PRODUCTION)

    refused = start([*STARTS[name], *(["127.0.0.1:" + env["PORT"]] if name == "runserver" else [])], env)

    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "DJANGO_SECRET_KEY is not set (or is a development key) and DJANGO_DEBUG is off" in output
    assert MAKE_ONE in output


def test_the_development_key_written_out_is_refused_too(tmp_path):
    refused = start(STARTS["check --deploy"], environment(tmp_path, DJANGO_SECRET_KEY=DEVELOPMENT_KEY, **PRODUCTION))

    assert refused.returncode == 1 and "(ops.E002) DJANGO_SECRET_KEY is not set" in refused.stderr


def test_with_the_readme_settings_make_prods_check_passes_and_gunicorn_serves(tmp_path):
    port = free_port()
    env = environment(tmp_path, DJANGO_SECRET_KEY=secrets.token_urlsafe(50), PORT=str(port), **PRODUCTION)

    checked = start([*STARTS["check --deploy"], "--fail-level", "WARNING"], env)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(STARTS["gunicorn"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert _answers(f"http://127.0.0.1:{port}/healthz", server), server.stderr and server.stderr.read()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str, server: subprocess.Popen, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            return requests.get(url, timeout=2).json() == {"status": "ok"}
        except requests.RequestException:
            time.sleep(0.2)
    return False


@pytest.mark.parametrize(
    ("debug", "key", "refused"),
    [
        (False, DEVELOPMENT_KEY, True),
        (False, "django-insecure-made-by-startproject-0123456789abcdefghijklmnop", True),
        (False, "a-real-key-" + "x" * 50, False),
        (True, DEVELOPMENT_KEY, False),  # `make run`
    ],
)
def test_only_debug_off_with_a_development_key_is_unsafe(settings, debug, key, refused):
    settings.DEBUG, settings.SECRET_KEY = debug, key

    assert bool(unsafe_secret_key()) is refused
