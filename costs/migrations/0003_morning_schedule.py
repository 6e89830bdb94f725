"""Creates the daily morning run (ingest the last days, then the digest) once, by name."""

from django.db import migrations

from costs.schedule import SCHEDULE_NAME, next_run


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "costs.tasks.morning",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": next_run(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("costs", "0002_rollups_forecasts_anomalies"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
