"""Deployments, their transitions, approvals and locks. The rules that move them live in `engine`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chatops_site.catalog.models import DeployTarget, Environment, Service


class State(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "awaiting approval"
    QUEUED = "queued", "queued"
    DISPATCHING = "dispatching", "dispatching"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    REJECTED = "rejected", "rejected"
    EXPIRED = "expired", "expired"
    CANCELLED = "cancelled", "cancelled"
    TIMED_OUT = "timed_out", "timed out"


# At most one of these per target, enforced by a partial unique index below.
ACTIVE_STATES = (State.DISPATCHING, State.RUNNING)
# Requested but not yet running.
WAITING_STATES = (State.AWAITING_APPROVAL, State.QUEUED)
FINAL_STATES = (State.SUCCEEDED, State.FAILED, State.REJECTED, State.EXPIRED, State.CANCELLED, State.TIMED_OUT)


class Kind(models.TextChoices):
    DEPLOY = "deploy", "deploy"
    ROLLBACK = "rollback", "rollback"


class Source(models.TextChoices):
    """Where a deployment was started: here (chat, the dashboard, the REST API), or elsewhere under our rules."""

    CHAT = "chat", "ChatOps"
    API = "api", "CI, through the gate API"
    GITHUB = "github", "GitHub Actions"


class Answer(models.TextChoices):
    """What a system that started a deployment elsewhere was told (GitHub's deployment protection rule)."""

    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"


class Watch(models.TextChoices):
    """Where the watch after a deploy stands (`watch` has the rules); blank: not watched."""

    NONE = "", "not watched"
    WATCHING = "watching", "watching"
    HEALTHY = "healthy", "healthy"
    UNHEALTHY = "unhealthy", "unhealthy"
    # The window ended but not every minute of it could be read (AWS refused, an alarm is missing): never healthy.
    UNVERIFIED = "unverified", "not verified"
    ENDED = "ended", "ended"  # a newer deployment of the target took over before the window ended


class Deployment(models.Model):
    """One request to put a version of a service into an environment, and what became of it."""

    target = models.ForeignKey(DeployTarget, on_delete=models.PROTECT, related_name="deployments")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DEPLOY)
    version = models.CharField(max_length=200)
    # The commit `version` pointed to when it was requested: what is approved and what ships. Blank while it
    # is being pinned, and for services without a repository.
    commit_sha = models.CharField(max_length=64, blank=True)
    # The commit that ran on the target before, when known: where the commits to ship start.
    base_sha = models.CharField(max_length=64, blank=True)
    # Set while the commit is being looked up; nothing is approved or started before it is cleared.
    pinning = models.BooleanField(default=False)
    # What ships, as the card shows it (commits since `base_sha`, CI state), fetched once when pinned;
    # `{"error": "..."}` when the source could not tell.
    changes = models.JSONField(default=dict, blank=True)
    # Break-glass: why the requester (holding `override`) passed a lock or a freeze; blank when nothing was passed.
    override_reason = models.CharField(max_length=500, blank=True)
    overridden = models.CharField(max_length=300, blank=True, help_text="What the override passed.")
    state = models.CharField(max_length=20, choices=State.choices)
    # Deployments started elsewhere (a CI job through the gate API, a GitHub Actions job whose environment has
    # our protection rule) are never dispatched by us: their caller runs them and reports or shows their end.
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CHAT)
    # Who started it where it started, as that system names them (a GitHub login); blank: `requested_by`.
    started_by = models.CharField(max_length=100, blank=True)
    # GitHub waits for our answer: given once (`answer`, `answer_comment`), and when GitHub took it.
    answer = models.CharField(max_length=10, choices=Answer.choices, blank=True)
    answer_comment = models.CharField(max_length=1000, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rollback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    provider_run_id = models.CharField(max_length=200, blank=True)
    provider_run_url = models.URLField(max_length=500, blank=True)
    artifact = models.CharField(max_length=300, blank=True, help_text="Image or artifact the run reported.")
    detail = models.TextField(blank=True, help_text="Last word from the provider, e.g. why it failed.")
    # What a provider needs to follow its run or undo it later: a commit SHA, an Argo CD history id...
    provider_data = models.JSONField(default=dict, blank=True)
    dispatch_attempts = models.PositiveSmallIntegerField(default=0)
    # When the next status check is due; a check task claims it by clearing it (see tasks.check).
    next_check_at = models.DateTimeField(null=True, blank=True)
    # Asked for by the watch after a deploy that turned out unhealthy (an automatic rollback): no grant applies,
    # and it passes freezes but never locks.
    by_watch = models.BooleanField(default=False)
    # The watch after `succeeded` (see `watch`): where it stands, until when, and what it found, with its timeline.
    watch = models.CharField(max_length=12, choices=Watch.choices, blank=True, default=Watch.NONE)
    watch_until = models.DateTimeField(null=True, blank=True)
    watch_findings = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"], condition=Q(state__in=ACTIVE_STATES), name="one_active_deployment_per_target"
            )
        ]
        indexes = [
            models.Index(fields=["target", "state"]),
            models.Index(fields=["-requested_at"]),
            models.Index(fields=["requested_by", "-requested_at"]),
            models.Index(fields=["state", "queued_at"]),
            models.Index(fields=["watch"], condition=Q(watch="watching"), name="deployment_watching"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.target} {self.version}"

    @property
    def requester(self) -> str:
        """Who asked, as people know them: "octocat on GitHub" for a job started there, the watch for its rollback."""
        if self.by_watch:
            return f"the watch, as #{self.rollback_of_id} turned unhealthy"
        if self.started_by:
            return f"{self.started_by} on GitHub" if self.source == Source.GITHUB else self.started_by
        return self.requested_by.get_username()

    @property
    def short_sha(self) -> str:
        return self.commit_sha[:7]

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class DeploymentEvent(models.Model):
    """One transition of a deployment: the audit trail and the notifier's outbox."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=State.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["deployment", "announced_at"])]

    def __str__(self) -> str:
        return f"{self.deployment_id}: {self.from_state or '-'} -> {self.to_state}"


class Decision(models.TextChoices):
    APPROVE = "approve", "approved"
    REJECT = "reject", "rejected"


class Approval(models.Model):
    """The decision on a deployment that waited for approval; one per deployment, by someone else."""

    deployment = models.OneToOneField(Deployment, on_delete=models.CASCADE, related_name="approval")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"#{self.deployment_id} {self.get_decision_display()} by {self.approver}"


class Lock(models.Model):
    """A manual freeze of a target: nothing starts there until it is released or runs out."""

    target = models.ForeignKey(DeployTarget, on_delete=models.CASCADE, related_name="locks")
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    until = models.DateTimeField(null=True, blank=True, help_text="Blank: until someone unlocks it.")
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"], condition=Q(released_at__isnull=True), name="one_open_lock_per_target"
            )
        ]

    def __str__(self) -> str:
        return f"{self.target} locked by {self.locked_by}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None and (self.until is None or self.until > timezone.now())


class Freeze(models.Model):
    """Scheduled windows in which deploys to matching targets are refused (see `freezes` for the arithmetic).

    Either recurring (`schedule`, a 5-field cron of when each window starts, and `duration`) or one-off
    (`start` and `end`); cron and wall times are read in `time_zone`, so a window at 16:00 Berlin stays at
    16:00 Berlin across daylight-saving changes.
    """

    name = models.SlugField(max_length=64, unique=True)
    reason = models.CharField(max_length=500, blank=True)
    environments = models.ManyToManyField(Environment, related_name="freezes")
    services = models.ManyToManyField(Service, blank=True, related_name="freezes", help_text="Blank: every service.")
    schedule = models.CharField(max_length=100, blank=True, help_text='5-field cron, e.g. "0 16 * * fri".')
    duration = models.DurationField(null=True, blank=True, help_text="How long each scheduled window lasts.")
    start = models.DateTimeField(null=True, blank=True, help_text="A one-off window instead of a schedule.")
    end = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default=settings.TIME_ZONE)
    rollbacks = models.BooleanField(default=False, help_text="Let rollbacks through.")
    # The last window whose start and end were announced in the targets' channels.
    announced_start = models.DateTimeField(null=True, blank=True, editable=False)
    announced_end = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
