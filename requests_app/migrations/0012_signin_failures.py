# Sign-in failures counted per (username, address, window) instead of one audit event per POST.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('requests_app', '0011_decision_outcome_unknown'),
    ]

    operations = [
        migrations.CreateModel(
            name='SignInFailure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('username', models.CharField(max_length=150)),
                ('address', models.CharField(blank=True, max_length=45)),
                ('window_start', models.DateTimeField()),
                ('failures', models.PositiveIntegerField(default=0)),
                ('refused', models.PositiveIntegerField(default=0)),
                ('first_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['-last_at'],
                'indexes': [
                    models.Index(fields=['address', 'last_at'], name='signin_failure_address'),
                    models.Index(fields=['last_at'], name='signin_failure_last'),
                ],
                'constraints': [
                    models.UniqueConstraint(fields=('username', 'address', 'window_start'), name='signin_failure_window'),
                ],
            },
        ),
    ]
