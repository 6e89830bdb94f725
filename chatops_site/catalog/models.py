"""The catalog: what can be deployed where, and who may do what to it."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from chatops_site.catalog import channels


def channel_validator(value: str) -> None:
    """Only what the chat platforms can post to is stored."""
    try:
        channels.parse(value)
    except channels.BadChannel as exc:
        raise ValidationError(str(exc), code="invalid") from None


# Names a target's settings hand to an outside system. Each ends up in that system's URLs (Jenkins'
# /job/<folder>/job/<name>/, Argo CD's /applications/<name>, GitHub's /repos/<owner>/<name>/actions/
# workflows/<workflow>/), so each is written as that system names things, and nothing that could climb out
# of its place (`..`, a leading `/`, control characters) is taken.
_JOB_SEGMENT = r"(?!\.(?:/|$))[\w.+-]+(?: [\w.+-]+)*"  # not "." alone
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
TARGET_NAMES = {
    "job": (re.compile(rf"{_JOB_SEGMENT}(?:/{_JOB_SEGMENT})*"), "a Jenkins job, written name or folder/name"),
    "app": (re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*"), "an Argo CD application (a-z, 0-9, - and .)"),
    "workflow": (re.compile(r"\d+|[\w.-]+\.ya?ml"), "a workflow file name such as deploy.yml, or its numeric id"),
    "repository": (re.compile(r"[\w.-]+/[\w.-]+"), "a GitHub repository, written owner/name"),
}


def target_name_problem(key: str, value: object) -> str:
    """What is wrong with the name `key` of a target's settings; "" when nothing.

    The catalog file and the admin refuse such settings, and a provider refuses them at dispatch.
    """
    pattern, what = TARGET_NAMES[key]
    if isinstance(value, str) and len(value) <= 200 and ".." not in value and pattern.fullmatch(value):
        return ""
    return f"{key} {value!r} is not {what}"


def target_settings_problems(values: object) -> dict[str, str]:
    """The problems by setting, so that the catalog file can point at the line of each."""
    if not isinstance(values, dict):
        return {"settings": "settings must be a mapping"}
    found = {key: target_name_problem(key, values[key]) for key in TARGET_NAMES if key in values}
    return {key: problem for key, problem in found.items() if problem}


# A target's watch after a deploy (DESIGN.md "Watching after a deploy"): how long, which CloudWatch alarms, and
# whether the watch rolls back by itself. `{}` is no watch.
WATCH_KEYS = ("minutes", "alarms", "auto_rollback")
WATCH_MAX_MINUTES = 24 * 60
WATCH_MAX_ALARMS = 100  # what one DescribeAlarms request takes by name
_ALARM_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,255}")  # CloudWatch: 1-255 characters, no control characters


def watch_problems(value: object) -> dict[str, str]:
    """What is wrong with a target's watch, by key ("watch" for the whole), so the catalog file can point at the
    line of each; the admin and the file take the same values, and an export always reads back."""
    if value in (None, {}):
        return {}
    if not isinstance(value, dict):
        return {"watch": "watch must be a mapping: {minutes: 15, alarms: [web-5xx], auto_rollback: false}"}
    found = {key: f"unknown key '{key}' (known: {', '.join(WATCH_KEYS)})" for key in value if key not in WATCH_KEYS}
    minutes = value.get("minutes")
    if "minutes" not in value:
        found["watch"] = "watch: 'minutes' is required"
    elif isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= WATCH_MAX_MINUTES:
        found["minutes"] = f"watch minutes must be a whole number from 1 to {WATCH_MAX_MINUTES}"
    alarms = value.get("alarms", [])
    named = isinstance(alarms, list) and all(isinstance(name, str) and _ALARM_NAME.fullmatch(name) for name in alarms)
    if not named:
        found["alarms"] = "watch alarms must be a list of CloudWatch alarm names (1-255 characters each)"
    elif len(alarms) > WATCH_MAX_ALARMS:
        found["alarms"] = f"watch alarms: at most {WATCH_MAX_ALARMS}"
    elif len(set(alarms)) != len(alarms):
        found["alarms"] = "watch alarms: an alarm is named twice"
    if not isinstance(value.get("auto_rollback", False), bool):
        found["auto_rollback"] = "watch auto_rollback must be true or false"
    return found


def normal_watch(value: dict) -> dict:
    """A valid watch with every key, as it is stored: what the admin, the file and the export agree on."""
    if not value:
        return {}
    return {
        "minutes": value["minutes"],
        "alarms": list(value.get("alarms", [])),
        "auto_rollback": bool(value.get("auto_rollback", False)),
    }


class Action(models.TextChoices):
    """What a grant allows. Anything that changes a system is denied unless granted."""

    DEPLOY = "deploy", "deploy"
    ROLLBACK = "rollback", "rollback"
    APPROVE = "approve", "approve"
    LOCK = "lock", "lock / unlock"
    VIEW = "view", "view history"
    OVERRIDE = "override", "override locks and freezes (break-glass)"


# The actions of the command plugins that loaded (`@command("oncall", ..., reads="oncall")`, bots.plugins):
# action -> what it allows, e.g. "run /oncall". Grants name them as they name the built-in ones; a grant's
# choices are read from here when asked, so installing a plugin needs no migration.
PLUGIN_ACTIONS: dict[str, str] = {}


def action_choices() -> list[tuple[str, str]]:
    """What a grant may allow: the built-in actions, then those of the loaded plugins by name."""
    added = sorted((action, label) for action, label in PLUGIN_ACTIONS.items() if action not in Action.values)
    return [*Action.choices, *added]


def action_label(action: str) -> str:
    """How an action reads in a sentence ("may not lock / unlock"); an action nobody declares reads as itself."""
    return dict(action_choices()).get(action, action)


def declare_action(action: str, command: str) -> None:
    """A loaded plugin's command needs `action`: grants may name it from now on."""
    if action in Action.values:
        return
    label = PLUGIN_ACTIONS.get(action)
    PLUGIN_ACTIONS[action] = f"{label}, /{command}" if label else f"run /{command}"


class Platform(models.TextChoices):
    SLACK = "slack", "Slack"
    DISCORD = "discord", "Discord"
    CONSOLE = "console", "Console"
    WEB = "web", "Web command box"


class Provider(models.TextChoices):
    SIMULATED = "simulated", "Simulated (offline demo)"
    GITHUB_ACTIONS = "github_actions", "GitHub Actions"
    JENKINS = "jenkins", "Jenkins"
    ARGOCD = "argocd", "Argo CD"


class Environment(models.Model):
    """A stage software moves through: dev, staging, prod..."""

    name = models.SlugField(max_length=50, unique=True)
    order = models.PositiveIntegerField(default=100, help_text="Lower comes first in lists and /status.")
    requires_approval = models.BooleanField(
        default=False, help_text="Deploys wait until someone else holding 'approve' here approves them."
    )
    protected = models.BooleanField(
        default=False, help_text="Protected environments cannot be deleted (admin, catalog prune)."
    )

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


# Percent levels of CPU and memory: /status colours by them, and the watch after a deploy counts the critical ones.
DEFAULT_THRESHOLDS = {"cpu_warn": 70, "cpu_critical": 90, "memory_warn": 75, "memory_critical": 90}


class Service(models.Model):
    """A piece of software the team deploys, named as people type it in chat."""

    name = models.SlugField(max_length=64, unique=True)
    repository = models.CharField(max_length=200, blank=True, help_text="GitHub owner/name")
    description = models.CharField(max_length=300, blank=True)
    team = models.CharField(max_length=100, blank=True)
    cost_tag = models.CharField(max_length=200, blank=True, help_text="Value of the cost allocation tag.")
    # What /status watches in AWS; the catalog file's `aws:` block.
    aws_region = models.CharField(max_length=30, blank=True, help_text="Blank: the default AWS region.")
    ec2_instances = models.JSONField(default=list, blank=True, help_text='EC2 instance ids: ["i-0123..."]')
    ecs_services = models.JSONField(
        default=list, blank=True, help_text='ECS services: [{"cluster": "prod", "service": "web"}]'
    )
    eks_clusters = models.JSONField(default=list, blank=True, help_text='EKS cluster names: ["main"]')
    thresholds = models.JSONField(
        default=dict,
        blank=True,
        help_text='Percent levels for /status colours: {"cpu_warn": 70, "cpu_critical": 90, '
        '"memory_warn": 75, "memory_critical": 90}; missing keys use those defaults.',
    )
    monthly_budget = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="USD per calendar month; blank: none."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def levels(self) -> dict[str, int]:
        """The service's thresholds, the defaults where it names none."""
        return {**DEFAULT_THRESHOLDS, **(self.thresholds or {})}


class DeployTarget(models.Model):
    """One service in one environment, and how to deploy it there."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="targets")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="targets")
    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.SIMULATED)
    settings = models.JSONField(
        default=dict,
        blank=True,
        help_text='Provider settings, e.g. {"workflow": "deploy.yml", "ref": "main"}; simulated: {"delay": "5s"}.',
    )
    default_version = models.CharField(max_length=200, default="main")
    channel = models.CharField(
        max_length=300, blank=True, validators=[channel_validator], help_text="Where this target's news is posted."
    )
    timeout = models.DurationField(default=timedelta(minutes=30), help_text="A deployment running longer fails.")
    watch = models.JSONField(
        default=dict,
        blank=True,
        help_text='After a deploy succeeds, watch it: {"minutes": 15, "alarms": ["web-5xx"], "auto_rollback": false} '
        "(CloudWatch alarms by name, and the service's critical CPU/memory thresholds); {}: no watch.",
    )

    class Meta:
        ordering = ["service__name", "environment__order"]
        constraints = [models.UniqueConstraint(fields=["service", "environment"], name="one_target_per_service_env")]

    def __str__(self) -> str:
        return f"{self.service.name}/{self.environment.name}"

    def clean(self) -> None:
        if problems := target_settings_problems(self.settings):
            raise ValidationError({"settings": list(problems.values())})
        if problems := watch_problems(self.watch):
            raise ValidationError({"watch": list(problems.values())})
        self.watch = normal_watch(self.watch or {})


class Grant(models.Model):
    """Allows a user or a group one action on a service and environment (blank means all)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE)
    action = models.CharField(max_length=20, choices=action_choices)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, help_text="Blank: every service."
    )
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.CASCADE, help_text="Blank: every environment."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False)),
                name="grant_has_user_or_group",
            )
        ]
        indexes = [models.Index(fields=["action", "user"]), models.Index(fields=["action", "group"])]

    def __str__(self) -> str:
        where = f"{self.service or '*'}/{self.environment or '*'}"
        return f"{self.subject} may {self.action} {where}"

    @property
    def subject(self) -> str:
        return self.user.get_username() if self.user is not None else f"group {self.group}"


class ChatIdentity(models.Model):
    """Links a chat account (platform, workspace or guild, user id) to a ChatOps user."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    workspace = models.CharField(
        max_length=100, blank=True, help_text="Slack team id, Discord guild id (blank for DMs), 'local' for console."
    )
    chat_user_id = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_identities")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "chat identities"
        constraints = [
            models.UniqueConstraint(fields=["platform", "workspace", "chat_user_id"], name="one_user_per_chat_account")
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.workspace}/{self.chat_user_id} -> {self.user}"


class RouteEvent(models.TextChoices):
    PULL_REQUEST = "pull_request", "pull requests"
    PULL_REQUEST_REVIEW = "pull_request_review", "pull request reviews"
    DEPLOY = "deploy", "deployments"
    COST_DIGEST = "cost_digest", "morning cost digest"
    COST_ANOMALY = "cost_anomaly", "cost anomalies"


class ChannelRoute(models.Model):
    """Which channel hears which events: PRs of a repository, deploys of a service, the cost digest.

    A route naming neither a repository nor a service hears those events from everywhere.
    """

    events = models.JSONField(help_text='Event kinds, e.g. ["pull_request", "deploy"].')
    repository = models.CharField(max_length=200, blank=True, help_text="GitHub owner/name; blank: any.")
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="routes", help_text="Blank: any."
    )
    channel = models.CharField(max_length=300, validators=[channel_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        source = self.repository or (self.service.name if self.service is not None else "everything")
        return f"{', '.join(self.events)} of {source} -> {self.channel}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        unknown = set(self.events or []) - set(RouteEvent.values) if isinstance(self.events, list) else {"?"}
        if not self.events or unknown:
            raise ValidationError({"events": f"Choose a list of: {', '.join(RouteEvent.values)}."})
