"""The catalog and RBAC admin: where services, targets and grants are actually maintained."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Prefetch

from chatops_site.catalog.catalog_file import service_problems
from chatops_site.catalog.models import ChannelRoute, ChatIdentity, DeployTarget, Environment, Grant, Service


class DeployTargetInline(admin.TabularInline):
    model = DeployTarget
    fields = ["environment", "provider", "default_version", "channel", "timeout", "settings", "watch"]
    extra = 0


class ServiceForm(forms.ModelForm):
    def clean(self):
        """AWS resources and thresholds follow the catalog file's rules, so `catalog export` always reads back."""
        super().clean()
        cleaned = self.cleaned_data  # what a model form's clean() returns
        problems = service_problems(cleaned.get("name") or "this-service", cleaned)
        if problems:
            raise forms.ValidationError(problems)
        return cleaned


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceForm
    list_display = ["name", "repository", "team", "target_environments"]
    search_fields = ["name", "repository", "team"]
    inlines = [DeployTargetInline]
    fieldsets = [
        (None, {"fields": ["name", "repository", "description", "team"]}),
        (
            "AWS: what /status watches",
            {
                "fields": ["aws_region", "ec2_instances", "ecs_services", "eks_clusters", "thresholds"],
                "description": "CPU and memory come from CloudWatch; EC2 memory needs the CloudWatch agent.",
            },
        ),
        ("Costs", {"fields": ["cost_tag", "monthly_budget"]}),
    ]

    def get_queryset(self, request):
        targets = DeployTarget.objects.select_related("environment")
        return super().get_queryset(request).prefetch_related(Prefetch("targets", queryset=targets))

    @admin.display(description="environments")
    def target_environments(self, obj: Service) -> str:
        return ", ".join(target.environment.name for target in obj.targets.all())


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "requires_approval", "protected"]
    list_editable = ["order"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None):
        """Losing prod by a misclick would orphan its history; un-protect it first, deliberately."""
        if obj is not None and obj.protected:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(DeployTarget)
class DeployTargetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "provider", "default_version", "channel", "timeout"]
    list_filter = ["provider", "environment"]
    list_select_related = ["service", "environment"]
    search_fields = ["service__name", "environment__name"]
    autocomplete_fields = ["service", "environment"]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ["who", "action", "service_or_all", "environment_or_all", "created_at"]
    list_filter = ["action", "service", "environment", "user", "group"]
    list_select_related = ["user", "group", "service", "environment"]
    search_fields = ["user__username", "group__name"]
    autocomplete_fields = ["user", "group", "service", "environment"]
    fields = ["user", "group", "action", "service", "environment"]

    @admin.display(description="who")
    def who(self, obj: Grant) -> str:
        return obj.subject

    @admin.display(description="service", ordering="service__name")
    def service_or_all(self, obj: Grant) -> str:
        return obj.service.name if obj.service is not None else "all"

    @admin.display(description="environment", ordering="environment__order")
    def environment_or_all(self, obj: Grant) -> str:
        return obj.environment.name if obj.environment is not None else "all"


@admin.register(ChatIdentity)
class ChatIdentityAdmin(admin.ModelAdmin):
    list_display = ["platform", "workspace", "chat_user_id", "user"]
    list_filter = ["platform"]
    list_select_related = ["user"]
    search_fields = ["chat_user_id", "user__username"]
    autocomplete_fields = ["user"]


@admin.register(ChannelRoute)
class ChannelRouteAdmin(admin.ModelAdmin):
    list_display = ["__str__", "channel", "created_at"]
    list_select_related = ["service"]
    search_fields = ["repository", "service__name", "channel"]
    autocomplete_fields = ["service"]
