# One row per person who changed a setting: whether to open the next request after a decision.
# Numbered 0015 beside a 0014 that another change may add; both follow 0013.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0013_account_team_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Preference",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="tvr_preference",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "auto_advance",
                    models.BooleanField(
                        default=True, verbose_name="open the next request after a decision"
                    ),
                ),
            ],
        ),
    ]
