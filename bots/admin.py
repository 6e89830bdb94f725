"""Command history as a read-only audit log, what the bot sent to channels, and the Slack workspaces that installed it.

Console messages and Slack event ids are transport, not history, so they stay out."""

from __future__ import annotations

from django.contrib import admin

from bots.models import ChannelDelivery, CommandRun, SlackInstallation
from chatops_site.deploys.admin import AuditAdmin


@admin.register(CommandRun)
class CommandRunAdmin(AuditAdmin):
    list_display = ["received_at", "platform", "chat_user", "user", "command_line", "outcome", "duration_ms"]
    list_filter = ["outcome", "platform", "command"]
    list_select_related = ["user"]
    search_fields = ["text", "chat_user_id", "user__username", "error"]
    date_hierarchy = "received_at"
    # Slack response URLs and Discord interaction tokens let anyone post as the bot for a while.
    exclude = ["reply_handle"]

    @admin.display(description="chat user", ordering="chat_user_name")
    def chat_user(self, obj: CommandRun) -> str:
        return obj.chat_user_name or obj.chat_user_id

    @admin.display(description="command", ordering="command")
    def command_line(self, obj: CommandRun) -> str:
        return str(obj)


@admin.register(ChannelDelivery)
class ChannelDeliveryAdmin(AuditAdmin):
    """Which channel stopped hearing the bot, since when, and what Slack or Discord said."""

    list_display = ["created_at", "event", "where", "summary", "ok", "error"]
    list_filter = ["ok", "event"]
    search_fields = ["channel", "key", "summary", "error"]
    date_hierarchy = "created_at"
    raw_id_fields = ["run"]

    @admin.display(description="where", ordering="channel")
    def where(self, obj: ChannelDelivery) -> str:
        return obj.channel or f"run {obj.run_id}"


@admin.register(SlackInstallation)
class SlackInstallationAdmin(admin.ModelAdmin):
    """Seeing which workspaces are installed, and removing one (its token stops being used at once)."""

    list_display = ["team_name", "team_id", "bot_user_id", "installed_by", "installed_at", "updated_at"]
    search_fields = ["team_name", "team_id"]
    exclude = ["bot_token_encrypted"]
    readonly_fields = ["team_id", "team_name", "enterprise_id", "app_id", "bot_user_id", "scopes", "installed_by"]

    def has_add_permission(self, request):
        return False  # workspaces arrive through /slack/install
