"""The sandbox's own state: the simulated impact.com requests and its rate-limit counters."""

from __future__ import annotations

from django.db import models


class SandboxRequest(models.Model):
    """One tracking value request as impact.com holds it; `payload` is the wire-format JSON."""

    account_sid = models.CharField(max_length=64)
    impact_id = models.BigIntegerField()
    # Copies of the filterable fields, so the list endpoint filters in SQL.
    campaign_id = models.BigIntegerField(null=True)
    media_partner_id = models.BigIntegerField(null=True)
    deal_id = models.BigIntegerField(null=True)
    state = models.CharField(max_length=16)
    request_type = models.CharField(max_length=32)
    # The approved promo code, upper-cased: one code belongs to one partner.
    approved_code = models.CharField(max_length=255, blank=True, db_index=True)
    payload = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_sid", "impact_id"], name="sandbox_unique_id")
        ]
        indexes = [models.Index(fields=["account_sid", "state", "impact_id"])]

    def __str__(self) -> str:
        return f"{self.account_sid}/{self.impact_id}"


class SandboxCallWindow(models.Model):
    """Calls made per account in one clock hour: the rate limit lives in the database."""

    account_sid = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account_sid", "window_start"], name="sandbox_one_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_sid} {self.window_start:%H:%M}: {self.calls}"
