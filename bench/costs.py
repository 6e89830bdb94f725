"""`/cost` and the digest at scale: 365 days x 200 services x 20 AWS services, ingest rows/s and p50/p95.

Builds (once; `--fresh` rebuilds) a database of its own, written month by month through `costs.store`
(the writer every ingestion uses, which also keeps the daily and monthly sums and judges anomalies), with
a spike of svc-042 yesterday, then times `/cost month`,
`/cost 30d <service>` through the command engine (audit row included) and building the morning digest.
Target: each p95 under 150 ms.

    .venv/bin/python bench/costs.py                       # SQLite file chatops_bench_costs_chat.sqlite3
    .venv/bin/python bench/costs.py --database postgres   # database chatops_bench_costs_chat on 127.0.0.1
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal

import pages  # bench/pages.py, beside this file: the benchmark database and Django set-up

NAME = "chatops_bench_costs_chat"
CHUNK = 31  # days written per transaction, as a month-long backfill would


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres, or a DATABASE_URL")
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--aws-services", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query")
    parser.add_argument("--fresh", action="store_true", help="write the cost rows again")
    return parser.parse_args()


def ingest(services: int, aws_services: int, days: int) -> tuple[int, float]:
    """Write the synthetic year; returns rows written and seconds taken (writes only, not generation)."""
    from chatops_site.catalog.models import Service
    from chatops_site.demo import seed_catalog
    from costs import store
    from costs.periods import utc_today

    seed_catalog()
    for i in range(services):
        budget = Decimal(20 * 30 * aws_services) if i % 3 == 0 else None
        Service.objects.update_or_create(name=f"svc-{i:03d}", defaults={"monthly_budget": budget})
    rng = random.Random(7)
    aws_names = [f"AWS Service {n:02d}" for n in range(aws_services)]
    usual = {(f"svc-{i:03d}", aws): rng.uniform(0.5, 40) for i in range(services) for aws in aws_names}
    today = utc_today()
    start = today - timedelta(days=days - 1)
    written, seconds = 0, 0.0
    for offset in range(0, days, CHUNK):
        first = start + timedelta(days=offset)
        last = min(first + timedelta(days=CHUNK - 1), today)
        rows = []
        for n in range((last - first).days + 1):
            day = first + timedelta(days=n)
            weekday = 0.7 if day.weekday() >= 5 else 1.0
            spike = 3.0 if day == today - timedelta(days=1) else 1.0  # svc-042 yesterday: an anomaly to name
            for (tag, aws), level in usual.items():
                factor = spike if tag == "svc-042" else 1.0
                rows.append((day, aws, tag, Decimal(f"{level * weekday * factor * rng.uniform(0.9, 1.1):.4f}")))
        started = time.perf_counter()
        written += store.replace_days(first, last, rows, {today, today - timedelta(days=1)})
        seconds += time.perf_counter() - started
    return written, seconds


def timed(label: str, run, runs: int) -> float:
    for _ in range(2):  # warm-up
        run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    print(f"  {label:<28} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    return p95


def main() -> None:
    args = parse_args()
    os.environ["CHATOPS_RATE_LIMIT"] = "100000/m"  # one user asks hundreds of times a minute here
    pages.django_setup(pages.database_url(args.database, NAME))
    from django.db import connection

    from bots.command_engine import handle
    from bots.types import Invocation
    from costs import digest
    from costs.models import CostRecord

    expected = args.services * args.aws_services * args.days
    if args.fresh or CostRecord.objects.order_by().count() != expected:
        print(f"Ingesting {args.days} days x {args.services} services x {args.aws_services} AWS services...")
        rows, seconds = ingest(args.services, args.aws_services, args.days)
        print(f"  {rows:,} rows (and their daily sums) in {seconds:.1f}s: {rows / seconds:,.0f} rows/s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def say(line: str):
        reply = handle(Invocation.from_line(line, platform="console", workspace="local", chat_user_id="carol"))
        assert reply.text.startswith("💰"), reply.text
        return reply

    rows = CostRecord.objects.order_by().count()
    month = say("/cost month")
    assert "svc-042 on" in dict(month.fields)["Anomalies"], month.fields  # the anomaly path is timed too
    print(f"/cost and the digest on {connection.vendor}, {rows:,} cost rows:")
    worst = max(
        timed("/cost month", lambda: say("/cost month"), args.runs),
        timed("/cost 30d svc-042", lambda: say("/cost 30d svc-042"), args.runs),
        timed("digest (build)", digest.build, args.runs),
    )
    print(f"worst p95: {worst:.1f} ms (target < 150 ms) -> {'OK' if worst < 150 else 'OVER'}")


if __name__ == "__main__":
    main()
