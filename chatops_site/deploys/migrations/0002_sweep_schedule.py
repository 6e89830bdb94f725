"""Creates the minute-by-minute sweep (approval expiry, timeouts, lost tasks) once, by name."""

from django.db import migrations
from django.utils import timezone


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="chatops-sweep",
        defaults={
            "func": "chatops_site.deploys.tasks.sweep",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="chatops-sweep").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("deploys", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
