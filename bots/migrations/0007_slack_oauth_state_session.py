# An install state is now tied to the admin and the browser session that started it. A state issued
# before has no binding and is refused; it expires within ten minutes and housekeeping removes it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bots', '0006_channel_deliveries'),
    ]

    operations = [
        migrations.AddField(
            model_name='slackoauthstate',
            name='session_hash',
            field=models.CharField(default='', help_text="SHA-256 of the starting admin's user id and the nonce kept in their session.", max_length=64),
            preserve_default=False,
        ),
    ]
