# Each user's permissions and the detail page's reviewers and reasons are cached under this
# version; claims and decisions (data_version) no longer make every page read them again.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0012_signin_failures"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="team_version",
            field=models.PositiveBigIntegerField(default=0),
        ),
    ]
