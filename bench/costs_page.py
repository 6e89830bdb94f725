"""The costs page at scale: two years of daily costs for 100 services, p50/p95 of `/costs/`.

Builds (once; `--fresh` rebuilds) a database of its own through `costs.store` (the writer every
ingestion uses, which also keeps the daily sums), then times the page over several periods, one
service, and the CSV export. Target: p95 under 150 ms.

    .venv/bin/python bench/costs_page.py                       # SQLite file chatops_bench_costs.sqlite3
    .venv/bin/python bench/costs_page.py --database postgres   # database chatops_bench_costs on 127.0.0.1
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta
from decimal import Decimal

import pages  # bench/pages.py, beside this file

NAME = "chatops_bench_costs"
AWS_SERVICES = [
    "Amazon Elastic Compute Cloud - Compute", "Amazon Relational Database Service", "Amazon Simple Storage Service",
    "Amazon CloudFront", "Elastic Load Balancing", "Amazon ElastiCache", "AWS Lambda", "AmazonCloudWatch",
    "Amazon Simple Queue Service", "Amazon Route 53", "AWS Key Management Service", "EC2 - Other",
]  # fmt: skip
PER_SERVICE = 4  # AWS services each of our services spends on


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres, or a DATABASE_URL")
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--fresh", action="store_true", help="write the cost rows again")
    parser.add_argument("--only", choices=["pages", "api"], help="time only the page, or only /api/v1/costs/daily/")
    return parser.parse_args()


def generate(services: int, days: int) -> int:
    """`services` catalog services, each spending on a few AWS services every day for `days` days."""
    from chatops_site.catalog.models import Service
    from chatops_site.demo import seed_catalog
    from costs import store
    from costs.periods import utc_today

    seed_catalog()
    for i in range(services):
        Service.objects.get_or_create(name=f"svc-{i:03d}", defaults={"monthly_budget": Decimal(1000 + 50 * i)})
    rng = random.Random(7)
    spend = {
        f"svc-{i:03d}": {aws: rng.uniform(1, 60) for aws in rng.sample(AWS_SERVICES, PER_SERVICE)}
        for i in range(services)
    }
    end = utc_today() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    rows = (
        (start + timedelta(days=d), aws, tag, Decimal(f"{usual * rng.uniform(0.8, 1.2):.4f}"))
        for d in range(days)
        for tag, by_aws in spend.items()
        for aws, usual in by_aws.items()
    )
    return store.replace_days(start, end, rows, estimated={end})


def api_scenarios(services: int, days: int) -> list[tuple[str, str]]:
    """GET /api/v1/costs/daily/ over the same spans as the page, by either grouping, and over the whole range.

    Each answer is one page (at most `reports.DAILY_PAGE_SIZE` rows; the first, or one in the middle of
    the whole range, through its cursor): a client following `next` pays this once per page.
    """
    from chatops_site.web.api.pagination import day_group_cursor
    from costs.periods import utc_today
    from costs.reports import DailyRow

    end = utc_today() - timedelta(days=1)
    since = {n: end - timedelta(days=n - 1) for n in (30, 90, 365, days)}
    one = f"svc-{min(42, services - 1):03d}"
    daily = "/api/v1/costs/daily/"
    middle = DailyRow(end - timedelta(days=days // 2), one, Decimal(0), False)
    return [
        ("API daily, 30 days", daily),
        ("API daily, 90 days by service", f"{daily}?start={since[90]}&end={end}&group_by=service"),
        ("API daily, 365 days", f"{daily}?start={since[365]}&end={end}"),
        (f"API daily, {days} days by service", f"{daily}?start={since[days]}&end={end}&group_by=service"),
        ("API daily, one service, 365 days", f"{daily}?start={since[365]}&end={end}&service={one}"),
        (
            f"API daily, {days} days, a middle page",
            f"{daily}?start={since[days]}&end={end}&group_by=service&after={day_group_cursor(middle)}",
        ),
    ]


def main() -> None:
    args = parse_args()
    pages.django_setup(pages.database_url(args.database, NAME))
    from django.db import connection

    from costs.models import CostRecord

    if args.fresh or CostRecord.objects.order_by().count() < args.services * args.days * PER_SERVICE:
        print(f"Writing {args.days} days x {args.services} services ({connection.vendor})...")
        started = time.monotonic()
        written = generate(args.services, args.days)
        print(f"  {written:,} cost rows (and their daily sums) in {time.monotonic() - started:.0f}s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    scenarios = [
        ("last 30 days, every service", "/costs/"),
        ("last 7 days", "/costs/?period=7d"),
        ("this month", "/costs/?period=month"),
        ("last 90 days", "/costs/?period=90d"),
        ("last 365 days", "/costs/?period=365d"),
        ("one service, 90 days", f"/costs/?period=90d&service=svc-{min(42, args.services - 1):03d}"),
        ("CSV export, 30 days", "/costs/?period=30d&format=csv"),
    ]
    api = api_scenarios(args.services, args.days)
    scenarios = {"pages": scenarios, "api": api}.get(args.only, scenarios + api)
    rows = CostRecord.objects.order_by().count()
    print(f"/costs/ and /api/v1/costs/daily/ on {connection.vendor}, {rows:,} cost rows:")
    client = pages.client_as("alice")
    results = [pages.measure(client, label, path, args.requests) for label, path in scenarios]
    worst = max(p95 for _, p95 in results)
    print(f"worst p95: {worst:.1f} ms (target < 150 ms) -> {'OK' if worst < 150 else 'OVER'}")


if __name__ == "__main__":
    main()
