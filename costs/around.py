"""What a service spent around one of its deploys: the average day in the 3 days before and the days after.

Cost days are UTC days (DESIGN.md "Costs"), and a deploy's own day mixes the old version and the new, so it is
in neither. The days after count once they are ingested (a day is known when its `total` row exists), up to 3;
on a known day without a row for the service's tag, the service spent nothing. Read from the daily sums: two
small queries, so the deployment page and `/history` show it whenever the days are there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

from chatops_site.deploys.models import Deployment, State
from costs.models import DailyCost, Dimension
from costs.tags import tag_of

DAYS = 3
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Around:
    before: Decimal  # USD on an average day of the days before
    after: Decimal  # USD on an average day of the days after
    days_before: int
    days_after: int

    @property
    def change_pct(self) -> float | None:
        return float((self.after - self.before) / self.before * 100) if self.before else None

    def text(self) -> str:
        """`$41.20/day before, $55.80/day after (+35%; 3 days before, 2 after)`."""
        change = f"{self.change_pct:+.0f}%; " if self.change_pct is not None else ""
        after = "1 day" if self.days_after == 1 else f"{self.days_after} days"
        return (
            f"${self.before:,.2f}/day before, ${self.after:,.2f}/day after "
            f"({change}{self.days_before} days before, {after} after)"
        )


def around(deployment: Deployment) -> Around | None:
    """The service's average daily cost before and after a deploy that succeeded; None until a day after it is
    ingested (or when no day before it is known)."""
    if deployment.state != State.SUCCEEDED or deployment.finished_at is None:
        return None
    day = deployment.finished_at.astimezone(UTC).date()
    window = (day - timedelta(days=DAYS), day + timedelta(days=DAYS))
    known = set(
        DailyCost.objects.filter(dimension=Dimension.TOTAL, day__range=window)
        .exclude(day=day)
        .values_list("day", flat=True)
    )
    before = [d for d in known if d < day]
    after = [d for d in known if d > day]
    if not before or not after:
        return None
    spent = dict(
        DailyCost.objects.filter(
            dimension=Dimension.SERVICE_TAG, key=tag_of(deployment.target.service), day__range=window
        ).values_list("day", "amount")
    )

    def average(days: list) -> Decimal:
        return (sum((spent.get(d, Decimal(0)) for d in days), Decimal(0)) / len(days)).quantize(CENTS)

    return Around(average(before), average(after), len(before), len(after))
