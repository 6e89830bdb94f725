"""API tokens, hashed at rest, in place of Django REST framework's plain-text ones.

DRF's tokens stop working with this release, on purpose: they were stored as they are sent, and DRF's admin
listed them to every staff member who could view tokens, so none of them can be trusted to be secret. None
is carried over; its `authtoken` app is no longer installed, so no key from it opens the API. People make
new tokens on their profile page, or an operator runs `manage.py api_token`.

Django does not drop the tables of an app taken out of INSTALLED_APPS: `authtoken_token` stays, unused,
with the old keys in it. They open nothing any more; drop the table once the upgrade is done
(`DROP TABLE authtoken_token;`) so that no later backup carries them.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('digest', models.CharField(max_length=128, primary_key=True, serialize=False)),
                ('token_key', models.CharField(db_index=True, max_length=25)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('name', models.CharField(max_length=100)),
                ('expiry', models.DateTimeField()),
                ('last_used', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auth_token_set', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['-created'],
            },
        ),
    ]
