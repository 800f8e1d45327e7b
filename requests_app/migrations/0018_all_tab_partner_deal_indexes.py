"""The All tab with a partner or a deal reads an index in the list's order (issue 15)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0017_tracking_values"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="trackingvaluerequest",
            index=models.Index(
                fields=["account_sid", "media_partner_id", "date_needed", "id"],
                name="tvr_partner_needed",
            ),
        ),
        migrations.AddIndex(
            model_name="trackingvaluerequest",
            index=models.Index(
                fields=["account_sid", "deal_id", "date_needed", "id"], name="tvr_deal_needed"
            ),
        ),
        # (account, deal) is the front of tvr_deal_needed: one index fewer for the sync to write.
        migrations.RemoveIndex(model_name="trackingvaluerequest", name="tvr_deal"),
    ]
