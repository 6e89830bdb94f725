"""Shared by the dashboard benchmarks: a database of their own, and p50/p95 of in-process requests.

The benchmarks talk to Django's test client (no network, no server), so the figures are the view's
own time: queries, templates, rendering.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"


def database_url(kind: str, name: str) -> str:
    """`sqlite` -> a file beside the project; `postgres` -> a database of that name (created when missing)."""
    if kind == "sqlite":
        return f"sqlite:///{ROOT / (name + '.sqlite3')}"
    if kind == "postgres":
        import psycopg

        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return f"{POSTGRES_SERVER}/{name}"
    return kind  # a full DATABASE_URL


def django_setup(url: str) -> None:
    """Settings as production reads them, pointed at the benchmark's database, then migrate."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatops_site.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("CHATOPS_LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def client_as(username: str):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def measure(client, label: str, url: str, requests: int) -> tuple[float, float]:
    """Print and return p50/p95 in ms of `requests` GETs (after two warm-up ones)."""
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    print(f"  {label:<34} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {url}")
    return p50, p95
