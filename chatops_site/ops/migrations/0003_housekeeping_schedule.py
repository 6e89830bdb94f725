"""Creates the daily housekeeping run (old Slack event ids, install states, GitHub payloads) once, by name."""

from django.db import migrations
from django.utils import timezone


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="chatops-housekeeping",
        defaults={
            "func": "chatops_site.ops.housekeeping.prune",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="chatops-housekeeping").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0002_delete_ratewindow"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
