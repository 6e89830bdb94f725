"""Command history (the audit log of everything typed at the bot), what the bot posted, and Slack's rows."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from chatops_site.catalog.models import Platform, RouteEvent


class Outcome(models.TextChoices):
    PENDING = "pending", "pending"
    OK = "ok", "ok"
    INVALID = "invalid", "invalid"
    REFUSED = "refused", "refused"
    ERROR = "error", "error"
    RATE_LIMITED = "rate_limited", "rate limited"


class CommandRun(models.Model):
    """One command as received from a chat user, with what the bot answered. Append-only."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    workspace = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=100, blank=True)
    chat_user_id = models.CharField(max_length=100)
    chat_user_name = models.CharField(max_length=150, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    command = models.CharField(max_length=32, blank=True)
    text = models.TextField(blank=True, help_text="The argument text exactly as typed.")
    args = models.JSONField(default=dict, blank=True)
    # Denormalised from args so the history page can filter millions of rows on an index.
    service = models.CharField(max_length=64, blank=True)
    environment = models.CharField(max_length=50, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    error = models.TextField(blank=True)
    reply = models.TextField(blank=True)
    reply_public = models.BooleanField(default=False)
    # How follow-ups reach the user: Slack response_url, Discord interaction token...
    reply_handle = models.TextField(blank=True)
    request_id = models.CharField(max_length=200, blank=True, help_text="The platform's id, for de-duplication.")
    deployment = models.ForeignKey(
        "deploys.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="command_runs"
    )
    received_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "request_id"], condition=~Q(request_id=""), name="one_run_per_platform_request"
            )
        ]
        indexes = [
            models.Index(fields=["-received_at", "-id"]),
            models.Index(fields=["user", "-received_at"]),
            models.Index(fields=["service", "-received_at"]),
            models.Index(fields=["command", "-received_at"]),
            models.Index(fields=["outcome", "-received_at"]),
            # Rate limits count a workspace's and a chat user's recent commands, from the index alone.
            models.Index(fields=["platform", "workspace", "received_at", "outcome"]),
            models.Index(fields=["platform", "workspace", "chat_user_id", "received_at", "outcome"]),
            # A Slack channel without its workspace is taken to be where its last command came from.
            models.Index(fields=["platform", "channel", "-received_at"]),
        ]

    def __str__(self) -> str:
        return f"/{self.command} {self.text}".strip()


class ConsoleMessage(models.Model):
    """A message for the console or web command box: follow-ups of a run, or posts to a console channel.

    Tasks run in worker processes, so follow-ups travel through the database to whoever is watching.
    """

    run = models.ForeignKey(CommandRun, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=100, blank=True)
    text = models.TextField()
    final = models.BooleanField(default=False, help_text="The run's work has ended; nothing more will follow.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text[:80]


class PostedMessage(models.Model):
    """A message the bot posted to a channel, so later news about the same thing edits it in place.

    A deployment's approval request, progress and result are one message per channel that platforms
    able to edit (Slack's `chat.update`, Discord's message PATCH) keep up to date.
    """

    platform = models.CharField(max_length=20, choices=Platform.choices)
    channel = models.CharField(max_length=300)
    key = models.CharField(max_length=100, help_text='What the message is about, e.g. "deployment:42".')
    message_id = models.CharField(max_length=100, help_text="Slack ts, Discord message id...")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "channel", "key"], name="one_message_per_channel_and_key")
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.channel} {self.key}"


class ChannelDelivery(models.Model):
    """One piece of news the notifier sent to a channel, or to a command run, and whether it arrived.

    Each is recorded, so a channel that stopped hearing the bot shows in the admin with Slack's or
    Discord's own words; the daily housekeeping forgets them after a month.
    """

    event = models.CharField(max_length=30, choices=RouteEvent.choices)
    channel = models.CharField(max_length=300, blank=True, help_text="As the catalog writes it; blank for a run.")
    run = models.ForeignKey(
        CommandRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        help_text="The command whose follow-up this was.",
    )
    key = models.CharField(max_length=100, blank=True, help_text='What the message is about, e.g. "deployment:42".')
    summary = models.CharField(max_length=200, help_text="The message's first line.")
    ok = models.BooleanField()
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "channel deliveries"

    def __str__(self) -> str:
        return f"{self.event} to {self.channel or f'run {self.run_id}'}: {'ok' if self.ok else 'failed'}"


# Slack


class SlackInstallation(models.Model):
    """A Slack workspace that installed the app (OAuth v2); its bot token is stored encrypted."""

    team_id = models.CharField(max_length=32, unique=True)
    team_name = models.CharField(max_length=200, blank=True)
    enterprise_id = models.CharField(max_length=32, blank=True)
    app_id = models.CharField(max_length=32, blank=True)
    bot_user_id = models.CharField(max_length=32, blank=True)
    scopes = models.TextField(blank=True, help_text="Granted bot scopes, comma-separated as Slack writes them.")
    installed_by = models.CharField(max_length=32, blank=True, help_text="Slack user id of the installing admin.")
    bot_token_encrypted = models.TextField(help_text="Fernet token; see bots.platforms.slack.install.")
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.team_name or self.team_id} ({self.team_id})"


class SlackOAuthState(models.Model):
    """The `state` of one install attempt: single use (the callback deletes it), short-lived, and good only
    in the browser session of the admin who started it."""

    # How long an admin has between leaving for Slack's authorize page and coming back.
    LIFETIME = timedelta(minutes=10)

    state = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(db_index=True)
    session_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the starting admin's user id and the nonce kept in their session."
    )

    def __str__(self) -> str:
        return f"install state from {self.created_at:%Y-%m-%d %H:%M}"


class SlackEvent(models.Model):
    """An Events API delivery already taken: Slack's retries carry the same `event_id` and stop here."""

    event_id = models.CharField(max_length=64, unique=True)
    team_id = models.CharField(max_length=32, blank=True)
    type = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class SlackResponseUrl(models.Model):
    """How often a command run's `response_url` was used: Slack honours it 5 times within 30 minutes."""

    run = models.OneToOneField(CommandRun, on_delete=models.CASCADE, related_name="slack_response_url")
    uses = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.uses} uses"
