"""What the API reads and writes. Names, not ids, wherever people type names (`service`, `environment`, `user`)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bots.models import CommandRun
from chatops_site.catalog.models import DeployTarget, Environment, Service
from chatops_site.deploys import freeze_text, freezes
from chatops_site.deploys.models import Approval, Deployment, DeploymentEvent, Freeze, Kind, Lock, State, Watch
from chatops_site.web.api.pagination import parse_day_group_cursor
from costs import reports
from costs.periods import PeriodError, parse_period, utc_today

MAX_COST_DAYS = 1100  # three years of daily rows is as far as one answer goes


class NameField(serializers.SlugRelatedField):
    """A catalog row given by its name. A NUL character, which PostgreSQL refuses to compare, names nothing."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


def _named(model, what: str, **kwargs) -> NameField:
    """A catalog row given by its name; an unknown name says which."""
    return NameField(
        slug_field="name",
        queryset=model.objects.all(),
        error_messages={"does_not_exist": f"There is no {what} named '{{value}}'.", "invalid": "Give a name."},
        **kwargs,
    )


def _username(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="username", read_only=True, **kwargs)


# Catalog


class EnvironmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Environment
        fields = ["name", "order", "requires_approval", "protected"]


class CurrentSerializer(serializers.ModelSerializer):
    """The deployment that runs on a target now (the last one that succeeded)."""

    requested_by = _username()

    class Meta:
        model = Deployment
        fields = ["id", "version", "artifact", "requested_by", "finished_at"]


class OpenLockSerializer(serializers.ModelSerializer):
    locked_by = _username()

    class Meta:
        model = Lock
        fields = ["id", "locked_by", "reason", "created_at", "until"]


class TargetSerializer(serializers.ModelSerializer):
    """One service in one environment; `current` and `lock` are set on the row by the view."""

    environment: serializers.SlugRelatedField[Environment] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    current = CurrentSerializer(read_only=True, allow_null=True, help_text="What runs there now; null: nothing yet.")
    lock = OpenLockSerializer(read_only=True, allow_null=True, help_text="The freeze in force, if any.")

    class Meta:
        model = DeployTarget
        fields = ["environment", "provider", "default_version", "watch", "current", "lock"]


class ServiceSerializer(serializers.ModelSerializer):
    targets = TargetSerializer(many=True, read_only=True)

    class Meta:
        model = Service
        fields = ["name", "repository", "description", "team", "monthly_budget", "targets"]


# Deployments


class FindingSerializer(serializers.Serializer):
    what = serializers.CharField(help_text="An alarm's name, or `CPU of ECS prod/web`.")
    detail = serializers.CharField(help_text="`in ALARM`, `at 95% (critical 90%)`")
    since = serializers.DateTimeField()


class WatchNoteSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    text = serializers.CharField()


class WatchSerializer(serializers.Serializer):
    """The watch after the deploy succeeded (DESIGN.md "Watching after a deploy")."""

    state = serializers.ChoiceField(choices=Watch.choices, help_text="Blank: not watched.")
    until = serializers.DateTimeField(allow_null=True)
    minutes = serializers.IntegerField()
    alarms = serializers.ListField(child=serializers.CharField())
    auto_rollback = serializers.BooleanField()
    checks = serializers.IntegerField()
    failed_checks = serializers.IntegerField(help_text="Checks that could not read everything: they prove nothing.")
    breaches = FindingSerializer(many=True, help_text="What began after the deploy, within the window.")
    before = FindingSerializer(many=True, help_text="Already firing before the deploy: not counted.")
    problems = serializers.ListField(child=serializers.CharField(), help_text="What the last check could not read.")
    rollback = serializers.IntegerField(allow_null=True, help_text="The rollback the watch requested itself.")
    rollback_refused = serializers.CharField(help_text="Why the watch could not roll back; blank otherwise.")
    timeline = WatchNoteSerializer(many=True)


def _watch(deployment: Deployment) -> dict:
    findings = deployment.watch_findings
    return {
        "state": deployment.watch,
        "until": deployment.watch_until,
        "minutes": findings.get("minutes", 0),
        "alarms": findings.get("alarms", []),
        "auto_rollback": bool(findings.get("auto_rollback")),
        "checks": findings.get("checks", 0),
        "failed_checks": findings.get("failed_checks", 0),
        "breaches": findings.get("breaches", []),
        "before": findings.get("before", []),
        "problems": findings.get("problems", []),
        "rollback": findings.get("rollback"),
        "rollback_refused": findings.get("rollback_refused", ""),
        "timeline": findings.get("timeline", []),
    }


class DeploymentSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="target.service.name", read_only=True)
    environment = serializers.CharField(source="target.environment.name", read_only=True)
    requested_by = _username()
    # A CharField, not a URL: a run not dispatched yet has none ("").
    provider_run_url = serializers.CharField(read_only=True)
    duration_seconds = serializers.SerializerMethodField()
    by_watch = serializers.BooleanField(read_only=True, help_text="Requested by the watch: an automatic rollback.")
    watch = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id", "service", "environment", "kind", "version", "commit_sha", "base_sha", "pinning", "changes",
            "override_reason", "overridden",
            "state", "requested_by", "source", "started_by", "by_watch", "rollback_of",
            "provider_run_id", "provider_run_url", "artifact", "detail",
            "requested_at", "queued_at", "started_at", "finished_at", "duration_seconds", "watch",
        ]  # fmt: skip

    def get_duration_seconds(self, deployment: Deployment) -> float | None:
        return deployment.duration.total_seconds() if deployment.duration is not None else None

    @extend_schema_field(WatchSerializer)
    def get_watch(self, deployment: Deployment) -> dict:
        return WatchSerializer(_watch(deployment)).data


class TransitionSerializer(serializers.ModelSerializer):
    actor = _username(allow_null=True)

    class Meta:
        model = DeploymentEvent
        fields = ["from_state", "to_state", "actor", "message", "created_at"]


class ApprovalSerializer(serializers.ModelSerializer):
    approver = _username()

    class Meta:
        model = Approval
        fields = ["approver", "decision", "reason", "decided_at"]


class DeploymentDetailSerializer(DeploymentSerializer):
    transitions = TransitionSerializer(source="events", many=True, read_only=True)
    approvals = serializers.SerializerMethodField()

    class Meta(DeploymentSerializer.Meta):
        fields = [*DeploymentSerializer.Meta.fields, "transitions", "approvals"]

    @staticmethod
    def _approvals(deployment: Deployment) -> list[Approval]:
        approval = getattr(deployment, "approval", None)  # one at most: the decision
        return [approval] if approval is not None else []

    def get_approvals(self, deployment: Deployment) -> list[dict]:
        # many=True makes a ListSerializer, whose data is a list; the stubs give every serializer's as a dict.
        return ApprovalSerializer(self._approvals(deployment), many=True).data  # type: ignore[return-value]


class DeployRequestSerializer(serializers.Serializer):
    """`{"service": "web-app", "environment": "prod", "version": "v1.2", "action": "deploy"}`."""

    service = _named(Service, "service")
    environment = _named(Environment, "environment")
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Branch, tag or SHA (the deploy engine checks its shape). Deploy: default the target's default "
        "version; rollback: default the last good version before the current one, or one that succeeded here.",
    )
    action = serializers.ChoiceField(choices=Kind.choices)
    override = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Break-glass: why this may pass a lock or a freeze (needs the override grant; announced).",
    )


class GateRequestSerializer(serializers.Serializer):
    """`{"service": "web-app", "environment": "prod", "version": "v1.2", "commit": "3f2a9c1", "url": "https://..."}`."""

    service = _named(Service, "service")
    environment = _named(Environment, "environment")
    version = serializers.CharField(max_length=200, help_text="Branch, tag or SHA being deployed (shape checked).")
    commit = serializers.RegexField(
        r"^[0-9A-Fa-f]{7,64}$",
        required=False,
        allow_blank=True,
        help_text="The commit SHA being deployed, shown in the history.",
        error_messages={"invalid": "A commit is its SHA: 7 to 64 hexadecimal digits."},
    )
    url = serializers.URLField(
        required=False, allow_blank=True, max_length=500, help_text="The pipeline's run (Jenkins build, CI job)."
    )


class GateAllowedSerializer(serializers.Serializer):
    allowed = serializers.BooleanField(help_text="Always true: deploy now, then report the end through `finish`.")
    deployment = serializers.IntegerField(help_text="The running deployment recorded for this deploy.")


class GateRefusedSerializer(serializers.Serializer):
    allowed = serializers.BooleanField(help_text="Always false: do not deploy.")
    reason = serializers.CharField(help_text="Why, and how to get through (when approval is needed: who may give it).")
    detail = serializers.CharField(help_text="The same words, as every error says them.")
    deployment = serializers.IntegerField(
        required=False, help_text="The request waiting for approval; ask again with the same version once approved."
    )


class FinishSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=[State.SUCCEEDED, State.FAILED])
    url = serializers.URLField(
        required=False, allow_blank=True, max_length=500, help_text="Where the run is (replaces the gate's `url`)."
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="Why, for the requester."
    )


# Locks


class LockSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="target.service.name", read_only=True)
    environment = serializers.CharField(source="target.environment.name", read_only=True)
    locked_by = _username()
    released_by = _username(allow_null=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Lock
        fields = [
            "id", "service", "environment", "locked_by", "reason", "created_at", "until", "released_at",
            "released_by", "active",
        ]  # fmt: skip


class LockRequestSerializer(serializers.Serializer):
    service = _named(Service, "service")
    environment = _named(Environment, "environment")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    until = serializers.DateTimeField(required=False, allow_null=True, help_text="Blank: until someone unlocks it.")

    def validate_until(self, until):
        if until is not None and until <= timezone.now():
            raise serializers.ValidationError("A lock must last until a moment still to come.")
        return until


# Freezes


class WindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


@extend_schema_field(OpenApiTypes.STR)
class SpanField(serializers.Field):
    """A window's length: `64h`, `1h30m`, `2d`, a number of seconds or ISO 8601 (`P2DT16H`); written `64h`."""

    def to_internal_value(self, data) -> timedelta:
        try:
            return freeze_text.span(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: timedelta) -> str:
        return freeze_text.span_text(value)


class FreezeSerializer(serializers.ModelSerializer):
    """A freeze as the catalog file writes it; times in its own zone, with their offset."""

    environments: serializers.SlugRelatedField[Environment] = serializers.SlugRelatedField(
        slug_field="name", many=True, read_only=True
    )
    services: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="name", many=True, read_only=True, help_text="Empty: every service."
    )
    duration = SpanField(read_only=True, allow_null=True)
    window = serializers.SerializerMethodField(help_text="The window in force now; null: none.")
    next_window = serializers.SerializerMethodField(help_text="The next window to start; null: none ahead.")

    class Meta:
        model = Freeze
        fields = [
            "name", "reason", "environments", "services", "schedule", "duration", "start", "end", "time_zone",
            "rollbacks", "window", "next_window",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, freeze: Freeze) -> dict:
        data = super().to_representation(freeze)
        zone = ZoneInfo(freeze_text.zone_or_utc(freeze.time_zone))
        for key in ("start", "end"):
            moment = getattr(freeze, key)
            data[key] = moment.astimezone(zone).isoformat() if moment is not None else None
        return data

    @extend_schema_field(WindowSerializer(allow_null=True))
    def get_window(self, freeze: Freeze) -> dict | None:
        return self._window(freeze, freezes.window_at(freeze, timezone.now()))

    @extend_schema_field(WindowSerializer(allow_null=True))
    def get_next_window(self, freeze: Freeze) -> dict | None:
        return self._window(freeze, freezes.next_window(freeze, timezone.now()))

    @staticmethod
    def _window(freeze: Freeze, window: freezes.Window | None) -> dict | None:
        if window is None:
            return None
        zone = ZoneInfo(freeze_text.zone_or_utc(freeze.time_zone))
        return {"start": window[0].astimezone(zone).isoformat(), "end": window[1].astimezone(zone).isoformat()}


class FreezeRequestSerializer(serializers.Serializer):
    """A freeze in the catalog file's words: a schedule and a duration, or a start and an end."""

    name = serializers.SlugField(max_length=64)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    environments = _named(Environment, "environment", many=True, allow_empty=False)
    services = _named(Service, "service", many=True, required=False, help_text="Left out or empty: every service.")
    schedule = serializers.CharField(
        required=False, allow_blank=True, max_length=100, default="", help_text='5-field cron, e.g. "0 16 * * fri".'
    )
    duration = SpanField(required=False, allow_null=True, default=None, help_text="64h, 1h30m, 2d, seconds or P2DT16H.")
    start = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        max_length=40,
        help_text='A one-off window: "2026-12-20 00:00" in time_zone, or ISO 8601 with an offset.',
    )
    end = serializers.CharField(required=False, allow_null=True, default=None, max_length=40)
    time_zone = serializers.CharField(required=False, max_length=64, default=settings.TIME_ZONE)
    rollbacks = serializers.BooleanField(required=False, default=False, help_text="Let rollbacks through.")

    def validate(self, data: dict) -> dict:
        """Times read in the freeze's zone, then the freezes' own rules, each on its field."""
        zone = freeze_text.zone_or_utc(data["time_zone"])
        found: dict[str, list[str]] = {}
        for key in ("start", "end"):
            if data[key] is not None:
                try:
                    data[key] = freeze_text.moment(data[key], zone)
                except ValueError as exc:
                    found[key] = [str(exc)]
        if not found:
            own = {key: data[key] for key in ("schedule", "duration", "start", "end", "time_zone")}
            found = {key: [reason] for key, reason in freezes.problems(Freeze(**own)).items()}
        if found:
            raise serializers.ValidationError(found)
        return data


# Command history


class CommandRunSerializer(serializers.ModelSerializer):
    user = _username(allow_null=True)

    class Meta:
        model = CommandRun
        fields = [
            "id", "platform", "workspace", "channel", "chat_user_name", "user", "command", "text", "service",
            "environment", "outcome", "error", "reply", "deployment", "received_at", "finished_at", "duration_ms",
        ]  # fmt: skip


# Costs


def _usd(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, **kwargs)


class DailyQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First UTC day; default: 30 days before `end`.")
    end = serializers.DateField(required=False, help_text="Last UTC day, included; default: yesterday.")
    service = _named(Service, "service", required=False, help_text="One of our services; default: all.")
    group_by = serializers.ChoiceField(choices=list(reports.GROUP_BY), default="aws_service")
    after = serializers.CharField(required=False, help_text="Cursor from a `next` link: the rows after it.")
    before = serializers.CharField(required=False, help_text="Cursor from a `previous` link: the rows just before it.")

    def validate_after(self, cursor: str):
        return parse_day_group_cursor(cursor)

    def validate_before(self, cursor: str):
        return parse_day_group_cursor(cursor)

    def validate(self, data):
        end = data.get("end") or utc_today() - timedelta(days=1)
        start = data.get("start") or end - timedelta(days=29)
        if start > end:
            raise serializers.ValidationError({"start": ["`start` comes after `end`."]})
        if (end - start).days >= MAX_COST_DAYS:
            raise serializers.ValidationError({"start": [f"Ask for at most {MAX_COST_DAYS} days at a time."]})
        return {**data, "start": start, "end": end}


class DailyRowSerializer(serializers.Serializer):
    day = serializers.DateField()
    group = serializers.CharField(help_text="AWS service or our service, as `group_by` says.")
    amount = _usd(help_text="USD")
    estimated = serializers.BooleanField(help_text="Cost Explorer may still revise this day.")

    def to_representation(self, row: reports.DailyRow) -> dict:
        # Years of days x a hundred services are tens of thousands of rows: written directly, as the
        # fields above would write them (amounts are already in cents), at a fraction of the cost.
        return {
            "day": row.day.isoformat(),
            "group": row.group,
            "amount": f"{row.amount:.2f}",
            "estimated": row.estimated,
        }


class DailyCostsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    service = serializers.CharField(allow_null=True)
    group_by = serializers.CharField()
    next = serializers.URLField(allow_null=True, help_text="The rows after these, filters kept; null on the last page.")
    previous = serializers.URLField(allow_null=True, help_text="The rows before these; null on the first page.")
    rows = DailyRowSerializer(
        many=True, help_text=f"At most {reports.DAILY_PAGE_SIZE}, in (day, group) order; follow `next` for the rest."
    )


class SummaryQuerySerializer(serializers.Serializer):
    period = serializers.CharField(
        default="yesterday", max_length=10, help_text="today, yesterday, week, month or <N>d (e.g. 30d), as `/cost`."
    )
    service = _named(Service, "service", required=False, help_text="One of our services; default: all.")

    def validate_period(self, text: str):
        try:
            return parse_period(text)
        except PeriodError as exc:
            raise serializers.ValidationError(str(exc)) from None


class AmountSerializer(serializers.Serializer):
    """A (name, USD) pair of a ranking."""

    name = serializers.CharField()
    amount = _usd()

    def to_representation(self, pair):
        return super().to_representation({"name": pair[0], "amount": pair[1]})


class MoverSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField(help_text="'AWS service' or 'service'")
    amount = _usd()
    previous = _usd()
    change = _usd()


class AnomalySerializer(serializers.Serializer):
    day = serializers.DateField()
    service = serializers.CharField()
    amount = _usd()
    usual = _usd()
    score = serializers.FloatField()
    estimated = serializers.BooleanField()
    driver = serializers.CharField(help_text="The AWS service whose spend grew most that day.")
    deployments = serializers.SerializerMethodField(help_text="Ids of the deploys just before it.")

    def get_deployments(self, anomaly) -> list[int]:
        return [deployment.pk for deployment in anomaly.deployments]


class AwsAnomalySerializer(serializers.Serializer):
    anomaly_id = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    dimension_value = serializers.CharField()
    total_impact = _usd()
    score = serializers.FloatField()


class ForecastSerializer(serializers.Serializer):
    amount = _usd()
    # DRF's metaclass takes declared fields off the class, so they do not replace Field's attributes of that name.
    source = serializers.CharField(help_text="'aws' or 'projection'")  # type: ignore[assignment]
    label = serializers.CharField()  # type: ignore[assignment]


class BudgetSerializer(serializers.Serializer):
    service = serializers.CharField()
    budget = _usd()
    spent = _usd()
    projected = _usd()
    level = serializers.CharField(help_text="ok, projected over, warning or over")


class CostSummarySerializer(serializers.Serializer):
    """The numbers `/cost` answers with."""

    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    service = serializers.CharField(allow_null=True)
    total = _usd()
    previous_start = serializers.DateField()
    previous_end = serializers.DateField()
    previous_total = _usd()
    previous_days_with_data = serializers.IntegerField()
    change = _usd(allow_null=True, help_text="Null unless every day of the previous period is known.")
    change_pct = serializers.FloatField(allow_null=True)
    by_aws_service = AmountSerializer(many=True)
    by_service = AmountSerializer(many=True)
    movers = MoverSerializer(many=True)
    anomalies = AnomalySerializer(many=True)
    aws_anomalies = AwsAnomalySerializer(many=True)
    days = serializers.IntegerField()
    days_with_data = serializers.IntegerField()
    estimated_days = serializers.ListField(child=serializers.DateField())
    demo = serializers.BooleanField(help_text="Demo figures, not AWS's.")
    month_start = serializers.DateField()
    month_to_date = _usd()
    budget = _usd(allow_null=True)
    forecast = ForecastSerializer(allow_null=True)
    budgets = BudgetSerializer(many=True)
