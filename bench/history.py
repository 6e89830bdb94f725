"""The history page at scale: 1,000,000 command runs and 100,000 deployments, p50/p95 of `/history/`.

Builds (once; `--fresh` rebuilds) a database of its own, written in bulk straight into the tables,
then times the first page, filtered pages, and pages deep into the history (keyset cursors, so a
page 10,000 deep should cost what the first one does). Target: p95 under 150 ms.

    .venv/bin/python bench/history.py                       # SQLite file chatops_bench_history.sqlite3
    .venv/bin/python bench/history.py --database postgres   # database chatops_bench_history on 127.0.0.1
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

import pages  # bench/pages.py, beside this file

NAME = "chatops_bench_history"
SERVICES = 20
START = datetime(2025, 1, 1, tzinfo=UTC)
COMMANDS = ["deploy"] * 30 + ["status"] * 30 + ["history"] * 10 + ["whoami"] * 10 + ["approve"] * 8
COMMANDS += ["rollback"] * 4 + ["lock"] * 4 + ["cost"] * 4
OUTCOMES = ["ok"] * 85 + ["refused"] * 8 + ["invalid"] * 5 + ["error"] * 2
PLATFORMS = ["slack"] * 6 + ["discord"] * 3 + ["web"]
DEPLOYMENT_COLUMNS = [
    "target_id",
    "kind",
    "version",
    "state",
    "requested_by_id",
    "provider_run_id",
    "provider_run_url",
    "artifact",
    "detail",
    "provider_data",
    "dispatch_attempts",
    "requested_at",
    "queued_at",
    "started_at",
    "finished_at",
]
RUN_COLUMNS = [
    "platform",
    "workspace",
    "channel",
    "chat_user_id",
    "chat_user_name",
    "user_id",
    "command",
    "text",
    "args",
    "service",
    "environment",
    "outcome",
    "error",
    "reply",
    "reply_public",
    "reply_handle",
    "request_id",
    "received_at",
    "finished_at",
    "duration_ms",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres, or a DATABASE_URL")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--fresh", action="store_true", help="drop the generated rows and write them again")
    parser.add_argument("--only", choices=["pages", "api"], help="time only the pages, or only GET /api/v1/commands/")
    return parser.parse_args()


def catalog() -> tuple[dict, list]:
    """The demo catalog grown to SERVICES services; the personas' ids and every (target, service, env)."""
    from django.contrib.auth import get_user_model

    from chatops_site.catalog.models import DeployTarget, Environment, Service
    from chatops_site.demo import seed_catalog

    seed_catalog()
    for i in range(SERVICES - Service.objects.count()):
        service, _ = Service.objects.get_or_create(name=f"svc-{i:02d}", defaults={"repository": f"acme/svc-{i:02d}"})
        for env in Environment.objects.all():
            DeployTarget.objects.get_or_create(service=service, environment=env, defaults={"provider": "simulated"})
    users = {u.username: u.pk for u in get_user_model().objects.filter(username__in=["alice", "bob", "carol"])}
    targets = list(DeployTarget.objects.values_list("pk", "service__name", "environment__name"))
    return users, targets


def write(model, columns: list[str], rows) -> None:
    """Bulk rows into the model's table: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection, transaction

    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("%s" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - names from the model
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == 20_000:
                cursor.executemany(sql, batch)
                batch = []
        cursor.executemany(sql, batch)


def moment(value: datetime):
    from django.db import connection

    return connection.ops.adapt_datetimefield_value(value)


def generate(users: dict, targets: list, runs: int, deployments: int) -> None:
    from bots.models import CommandRun
    from chatops_site.deploys.models import Deployment

    rng = random.Random(42)
    user_ids = list(users.values())
    span = timedelta(days=365).total_seconds()

    def deployment_rows():
        for i in range(deployments):
            target = targets[i % len(targets)][0]
            at = START + timedelta(seconds=span * i / deployments)
            state = "failed" if rng.random() < 0.1 else "succeeded"
            times = [moment(at)] * 3 + [moment(at + timedelta(seconds=90))]
            yield [target, "deploy", f"v1.{i}", state, rng.choice(user_ids), "", "", "", "", "{}", 1, *times]

    def run_rows():
        for i in range(runs):
            command = rng.choice(COMMANDS)
            _, service, env = rng.choice(targets) if command in ("deploy", "rollback", "lock") else (0, "", "")
            user = rng.choice(user_ids) if rng.random() < 0.9 else None
            text = f"{service} {env}".strip()
            at = START + timedelta(seconds=span * i / runs)
            chat = [rng.choice(PLATFORMS), "T1", "C1", f"U{i % 500}", f"user{i % 500}", user]
            what = [command, text, "{}", service, env, rng.choice(OUTCOMES), "", f"/{command} {text}: done"]
            yield [*chat, *what, False, "", "", moment(at), moment(at + timedelta(milliseconds=40)), 40]

    started = time.monotonic()
    write(Deployment, DEPLOYMENT_COLUMNS, deployment_rows())
    print(f"  {deployments:,} deployments in {time.monotonic() - started:.0f}s")
    started = time.monotonic()
    write(CommandRun, RUN_COLUMNS, run_rows())
    print(f"  {runs:,} command runs in {time.monotonic() - started:.0f}s")


def deep_cursor(queryset, depth: int) -> str:
    """The cursor a reader holds after paging `depth` rows down (found once, outside the timing)."""
    from chatops_site.web import keyset

    row = queryset.order_by("-received_at", "-pk")[depth : depth + 1].get()
    return keyset.encode(row.received_at, row.pk)


def api_twin(page: str) -> str:
    """The REST API URL of a dashboard list URL, with the same filters and cursor."""
    base, mark, query = page.partition("?")
    return {"/history/": "/api/v1/commands/", "/deployments/": "/api/v1/deployments/"}[base] + mark + query


def main() -> None:
    args = parse_args()
    pages.django_setup(pages.database_url(args.database, NAME))
    from django.db import connection

    from bots.models import CommandRun
    from chatops_site.deploys.models import Deployment

    users, targets = catalog()
    if args.fresh or CommandRun.objects.order_by().count() < args.runs:
        print(f"Writing {args.runs:,} command runs and {args.deployments:,} deployments ({connection.vendor})...")
        CommandRun.objects.all().delete()
        Deployment.objects.all().delete()
        generate(users, targets, args.runs, args.deployments)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    total = CommandRun.objects.order_by().count()
    depth = min(500_000, total // 2)
    deep = deep_cursor(CommandRun.objects.all(), depth)
    bobs = CommandRun.objects.filter(user_id=users["bob"], command="deploy")
    deep_bob = deep_cursor(bobs, bobs.order_by().count() // 2)
    scenarios = [
        ("first page", "/history/"),
        ("filtered (user, command)", "/history/?user=bob&command=deploy"),
        ("filtered (service, env, outcome)", "/history/?service=web-app&environment=prod&outcome=ok"),
        ("filtered (time range)", "/history/?since=2025-06-01&until=2025-06-02"),
        (f"page {depth // 50:,} ({depth:,} rows down)", f"/history/?after={deep}"),
        ("filtered, half way down", f"/history/?user=bob&command=deploy&after={deep_bob}"),
        ("free text (common word)", "/history/?q=staging"),
        ("deployments, first page", "/deployments/"),
    ]
    # The same filters and cursors through the REST API (the session authenticates it, as a token would).
    api = [(f"API {label}", api_twin(path)) for label, path in scenarios]
    scenarios = {"pages": scenarios, "api": api}.get(args.only, scenarios + api)
    print(f"/history/ and /api/v1/commands/ on {connection.vendor}, {total:,} runs, {args.requests} requests each:")
    client = pages.client_as("alice")
    results = [pages.measure(client, label, path, args.requests) for label, path in scenarios]
    worst = max(p95 for _, p95 in results)
    print(f"worst p95: {worst:.1f} ms (target < 150 ms) -> {'OK' if worst < 150 else 'OVER'}")


if __name__ == "__main__":
    main()
