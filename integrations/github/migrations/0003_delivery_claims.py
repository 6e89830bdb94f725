"""Deliveries remember when a worker took them, and a schedule takes up those whose handling was lost."""

from django.db import migrations, models
from django.utils import timezone


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="chatops-github-recover",
        defaults={
            "func": "integrations.github.events.recover",
            "schedule_type": "I",
            "minutes": 5,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="chatops-github-recover").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("github", "0002_encrypted_tokens"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
