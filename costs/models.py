"""Daily cost rows as Cost Explorer reports them, the daily sums every report reads, and what AWS forecasts."""

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
    # Six places: Cost Explorer reports fractions of a cent, and thousands of rows are summed per day.
    amount = models.DecimalField(max_digits=18, decimal_places=6, help_text="USD")
    estimated = models.BooleanField(default=False, help_text="Cost Explorer may still revise this day.")
    demo = models.BooleanField(default=False, help_text="Synthetic demo data; the first real ingestion removes it.")
    ingested_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "aws_service", "service_tag"], name="one_cost_row_per_day_and_group")
        ]
        indexes = [
            models.Index(fields=["service_tag", "day"]),
            models.Index(fields=["day"]),
            # Every real ingestion looks for demo rows to remove; this keeps that look instant.
            models.Index(fields=["demo"], condition=models.Q(demo=True), name="cost_record_demo"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.aws_service} {self.service_tag or 'untagged'}: {self.amount}"


class Dimension(models.TextChoices):
    TOTAL = "total", "total"
    AWS_SERVICE = "aws_service", "AWS service"
    SERVICE_TAG = "service_tag", "service tag"


class DailyCost(models.Model):
    """The sum of one day's `CostRecord`s for the whole account, one AWS service or one service tag.

    Rewritten with the records of that day (see `costs.store`), so reports read tens of rows a day
    instead of thousands. A day that was ingested always has its `total` row, even at zero spend.
    """

    day = models.DateField()
    dimension = models.CharField(max_length=20, choices=Dimension.choices)
    key = models.CharField(max_length=200, blank=True, help_text="AWS service or tag value; blank for the total.")
    amount = models.DecimalField(max_digits=18, decimal_places=6, help_text="USD")
    estimated = models.BooleanField(default=False)
    demo = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dimension", "key", "day"], name="one_daily_cost_per_group")]
        # Covering: reports and anomaly detection read thousands of (key, amount) a query, from the index alone.
        indexes = [models.Index(fields=["dimension", "day", "key", "amount"], name="daily_cost_covering")]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension} {self.key}: {self.amount}"


class MonthlyCost(models.Model):
    """The sum of one calendar month's `DailyCost`s of one dimension and key.

    Rewritten with the days of that month (see `costs.store`), so totals over a year read a dozen rows
    per group instead of 365; the days of a period that do not fill a month still come from `DailyCost`.
    """

    month = models.DateField(help_text="The 1st of the month.")
    dimension = models.CharField(max_length=20, choices=Dimension.choices)
    key = models.CharField(max_length=200, blank=True, help_text="AWS service or tag value; blank for the total.")
    amount = models.DecimalField(max_digits=18, decimal_places=6, help_text="USD")
    demo = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dimension", "key", "month"], name="one_monthly_cost_per_group")]
        indexes = [models.Index(fields=["dimension", "month", "key", "amount"], name="monthly_cost_covering")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.dimension} {self.key}: {self.amount}"


class DailyAnomaly(models.Model):
    """A day on which one service tag's spend stood out (`costs.anomalies`), judged when the days were written.

    `costs.store` judges the days it writes and the `LOOKBACK` days after them (the days whose history
    they are), so a report reads the few days that stand out instead of every tag's daily series.
    A known day on which the tag spent nothing can stand out too (credits that stopped), hence a table
    of its own rather than a flag on `DailyCost`.
    """

    day = models.DateField()
    tag = models.CharField(max_length=200, blank=True, help_text="The cost allocation tag value; blank is untagged.")
    # As `spike()` saw them: floats, so an answer read later is the one worked out then.
    amount = models.FloatField(help_text="USD spent that day")
    usual = models.FloatField(help_text="USD: the median of the days before")
    score = models.FloatField(help_text="Robust z-score")
    estimated = models.BooleanField(default=False)
    demo = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "tag"], name="one_anomaly_per_day_and_tag")]

    def __str__(self) -> str:
        return f"{self.day} {self.tag or 'untagged'}: {self.amount:.2f} (usually {self.usual:.2f})"


class CostForecast(models.Model):
    """AWS's forecast (GetCostForecast) of the account's spend from `start` to the end of that month."""

    made_on = models.DateField(unique=True)
    start = models.DateField()
    end = models.DateField(help_text="Exclusive: the 1st of the next month.")
    amount = models.DecimalField(max_digits=18, decimal_places=6, help_text="USD")
    fetched_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"forecast {self.start}..{self.end}: {self.amount}"


class AwsAnomaly(models.Model):
    """A finding of AWS Cost Anomaly Detection (GetAnomalies), kept as AWS last reported it."""

    anomaly_id = models.CharField(max_length=300, unique=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    dimension_value = models.CharField(max_length=300, blank=True, help_text="What the monitor watches.")
    root_causes = models.JSONField(default=list, blank=True)
    total_impact = models.DecimalField(max_digits=18, decimal_places=6)
    score = models.FloatField(default=0)
    monitor_arn = models.CharField(max_length=500, blank=True)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AWS cost anomaly"
        verbose_name_plural = "AWS cost anomalies"
        indexes = [models.Index(fields=["start_date"])]

    def __str__(self) -> str:
        return f"{self.dimension_value or 'anomaly'} since {self.start_date}: +{self.total_impact}"


class DigestPost(models.Model):
    """The scheduled morning digest went out for this local date: a retried task does not post it twice."""

    day = models.DateField(unique=True, help_text="Date in COST_DIGEST_TIME_ZONE.")
    posted_at = models.DateTimeField(auto_now_add=True)
    channels = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"digest {self.day}"
