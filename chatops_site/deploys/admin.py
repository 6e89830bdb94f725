"""Deployments as a read-only audit trail; locks and freezes are what an admin may change here."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from chatops_site.deploys import engine, freeze_text, freezes
from chatops_site.deploys.models import Approval, Deployment, DeploymentEvent, Freeze, Lock
from chatops_site.durations import format_duration


class ReadOnly:
    """Only the engine writes history; a trail an admin could edit or delete would prove nothing.

    Refused for superusers too, since they pass every permission check that is not overridden here.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditAdmin(ReadOnly, admin.ModelAdmin):
    # Counting millions of rows on every page view costs more than the page itself.
    show_full_result_count = False


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False


class DeploymentEventInline(ReadOnlyInline):
    model = DeploymentEvent
    fields = readonly_fields = ("from_state", "to_state", "actor", "message", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = readonly_fields = ("approver", "decision", "reason", "decided_at")


@admin.register(Deployment)
class DeploymentAdmin(AuditAdmin):
    list_display = [
        "id",
        "service",
        "environment",
        "version",
        "kind",
        "state",
        "requested_by",
        "requested_at",
        "duration",
    ]
    list_filter = ["state", "kind", "source", "target__environment", "target__service"]
    list_select_related = ["target__service", "target__environment", "requested_by"]
    search_fields = ["version", "requested_by__username", "started_by", "provider_run_id"]
    date_hierarchy = "requested_at"
    inlines = [ApprovalInline, DeploymentEventInline]

    @admin.display(ordering="target__service__name")
    def service(self, obj: Deployment) -> str:
        return obj.target.service.name

    @admin.display(ordering="target__environment__order")
    def environment(self, obj: Deployment) -> str:
        return obj.target.environment.name

    @admin.display(description="duration")
    def duration(self, obj: Deployment) -> str | None:
        return format_duration(obj.duration) if obj.duration is not None else None


class LockForm(forms.ModelForm):
    def clean_target(self):
        """The partial unique index would raise a server error: the admin form cannot validate it itself."""
        target = self.cleaned_data["target"]
        if Lock.objects.filter(target=target, released_at=None).exists():
            raise forms.ValidationError(f"{target} already has an open lock; release it first.")
        return target


@admin.register(Lock)
class LockAdmin(admin.ModelAdmin):
    form = LockForm
    list_display = ["target", "locked_by", "reason", "created_at", "until", "released_at", "active"]
    list_filter = [("released_at", admin.EmptyFieldListFilter)]
    list_select_related = ["target__service", "target__environment", "locked_by"]
    search_fields = ["target__service__name", "target__environment__name", "locked_by__username", "reason"]
    autocomplete_fields = ["target"]
    fields = ["target", "reason", "until", "locked_by", "created_at", "released_at", "released_by"]
    readonly_fields = ["locked_by", "created_at", "released_at", "released_by"]
    actions = ["release"]

    def get_readonly_fields(self, request, obj=None):
        """A lock belongs to one target for life; a different freeze is a new lock."""
        return [*self.readonly_fields, "target"] if obj is not None else self.readonly_fields

    @admin.display(boolean=True, description="active")
    def active(self, obj: Lock) -> bool:
        return obj.is_active

    def save_model(self, request, obj, form, change):
        if not change:
            obj.locked_by = request.user
        super().save_model(request, obj, form, change)
        if change:
            engine.wake(obj.target_id)  # a shortened `until` may have freed the target

    @admin.action(description="Release selected locks", permissions=["change"])
    def release(self, request, queryset):
        """Release like /unlock does, so the deploys that queued behind the lock start."""
        locks = engine.release(request.user, list(queryset.values_list("pk", flat=True)))
        for lock in locks:
            self.log_change(request, lock, "Released")
        self.message_user(request, f"Released {len(locks)} lock(s).", messages.SUCCESS)


class FreezeForm(forms.ModelForm):
    """A one-off window is typed in the freeze's own time zone, as in the catalog file, not the server's."""

    start = forms.CharField(required=False, help_text=f"In the freeze's time zone, e.g. {freeze_text.EXAMPLE}.")
    end = forms.CharField(required=False, help_text="In the freeze's time zone.")

    class Meta:
        model = Freeze
        fields = [
            "name", "reason", "environments", "services", "rollbacks", "time_zone", "schedule", "duration", "start",
            "end",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("start", "end"):
            instant = getattr(self.instance, name)
            if instant is not None:
                self.initial[name] = freeze_text.wall_text(instant, freeze_text.zone_or_utc(self.instance.time_zone))

    def clean(self):
        data = super().clean() or {}
        zone = freeze_text.zone_or_utc(data.get("time_zone"))
        for name in ("start", "end"):
            text = (data.get(name) or "").strip()
            try:
                data[name] = freeze_text.moment(text, zone) if text else None
            except ValueError as exc:
                self.add_error(name, str(exc))
        # The same rules as the catalog file and the REST API, each problem under its field.
        written = {k: data.get(k) for k in ("time_zone", "schedule", "duration", "start", "end")}
        for field, problem in freezes.problems(Freeze(**written)).items():
            if field not in self.errors:
                self.add_error(field, problem)
        return data


@admin.register(Freeze)
class FreezeAdmin(admin.ModelAdmin):
    form = FreezeForm
    list_display = ("name", "when", "time_zone", "rollbacks", "reason")
    filter_horizontal = ("environments", "services")
    fieldsets = (
        (None, {"fields": ("name", "reason", "environments", "services", "rollbacks", "time_zone")}),
        ("Recurring", {"fields": ("schedule", "duration")}),
        ("One-off", {"fields": ("start", "end")}),
    )

    @admin.display(description="windows")
    def when(self, freeze: Freeze) -> str:
        if freeze.schedule:
            return f"{freeze.schedule} for {format_duration(freeze.duration) if freeze.duration else '?'}"
        if not (freeze.start and freeze.end):
            return ""
        zone = freeze_text.zone_or_utc(freeze.time_zone)
        return f"{freeze_text.wall_text(freeze.start, zone)} to {freeze_text.wall_text(freeze.end, zone)}"
