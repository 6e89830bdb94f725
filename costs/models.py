"""Daily cost rows as Cost Explorer reports them: one per UTC day x AWS service x our service."""

from __future__ import annotations

from django.db import models


class CostRecord(models.Model):
    """What one AWS service cost for one of our services (by cost allocation tag) on one UTC day.

    Totals by AWS service and by our service are sums over the same rows, so they always agree.
    """

    day = models.DateField()
    aws_service = models.CharField(max_length=200)
    # The value of the COST_ALLOCATION_TAG tag, which names our service (Service.cost_tag); "" is untagged.
    service_tag = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=4, help_text="USD")
    estimated = models.BooleanField(default=False, help_text="Cost Explorer may still revise this day.")
    demo = models.BooleanField(default=False, help_text="Synthetic demo data; the first real ingestion removes it.")
    ingested_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "aws_service", "service_tag"], name="one_cost_row_per_day_and_group")
        ]
        indexes = [models.Index(fields=["service_tag", "day"]), models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.aws_service} {self.service_tag or 'untagged'}: {self.amount}"
