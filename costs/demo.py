"""A year of synthetic daily costs for the demo services, so `/cost` and the digest can be tried offline.

The rows are marked demo: they never mix with real costs (the first real ingestion removes them), and
seeding again replaces them. Spend follows a weekly rhythm (quieter weekends), grows slowly over the
year, and web-app's EC2 spend spikes yesterday, so the anomaly and "what changed?" can be seen at once.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from chatops_site.catalog.models import Service
from costs.periods import utc_today
from costs.store import has_real_data, remove_demo, replace_days

DAYS = 365
EC2 = "Amazon Elastic Compute Cloud - Compute"
# Tag value (our demo service's name; "" is untagged) -> AWS service -> dollars on an ordinary weekday.
SPEND: dict[str, dict[str, float]] = {
    "web-app": {EC2: 22, "Amazon CloudFront": 6, "Elastic Load Balancing": 4, "Amazon Simple Storage Service": 3},
    "api": {EC2: 14, "Amazon Relational Database Service": 18, "Amazon ElastiCache": 5, "AmazonCloudWatch": 2},
    "worker": {EC2: 8, "AWS Lambda": 4, "Amazon Simple Queue Service": 2, "Amazon Simple Storage Service": 3},
    "": {"EC2 - Other": 5, "AmazonCloudWatch": 1.5, "Amazon Route 53": 0.5, "AWS Key Management Service": 0.3},
}
WEEKDAY = [1.0, 1.02, 1.03, 1.01, 0.97, 0.72, 0.68]  # Monday first
GROWTH = 0.3  # a year ago spend was 30% lower
SPIKE = ("web-app", EC2, 6.0)  # yesterday: six times the usual
BUDGETS = {"web-app": Decimal(1500), "api": Decimal(1200), "worker": Decimal(600)}


@transaction.atomic
def seed_costs(today: date | None = None, seed: int = 7) -> int:
    """Write the demo year (ending today, so far) and demo budgets; nothing when real costs exist."""
    if has_real_data():
        return 0
    today = today or utc_today()
    rng = random.Random(seed)
    start = today - timedelta(days=DAYS)
    yesterday = today - timedelta(days=1)
    midnight = datetime.combine(today, time.min, tzinfo=UTC)
    today_so_far = min(max((timezone.now() - midnight) / timedelta(days=1), 0.05), 1.0)
    rows = []
    day = start
    while day <= today:
        level = (1 - GROWTH + GROWTH * (day - start).days / DAYS) * WEEKDAY[day.weekday()]
        if day == today:
            level *= today_so_far
        for tag, lines in SPEND.items():
            for aws_service, dollars in lines.items():
                amount = dollars * level * rng.uniform(0.94, 1.06)
                if day == yesterday and (tag, aws_service) == SPIKE[:2]:
                    amount *= SPIKE[2]
                rows.append((day, aws_service, tag, Decimal(str(round(amount, 4)))))
        day += timedelta(days=1)
    remove_demo()  # yesterday's seeding started a day earlier
    written = replace_days(start, today, rows, {yesterday, today}, demo=True)
    for name, budget in BUDGETS.items():
        Service.objects.filter(name=name, monthly_budget__isnull=True).update(monthly_budget=budget)
    return written
