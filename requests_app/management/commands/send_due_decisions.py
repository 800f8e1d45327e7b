"""`manage.py send_due_decisions`: one sweep by hand (the task worker sweeps by itself).

Sends queued decisions whose Undo window has passed (in case a task was lost), takes over
decisions a dead process left half-sent, re-reads unconfirmed ones that are due, and frees the
slot of a sync whose worker died.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from requests_app import housekeeping


class Command(BaseCommand):
    help = "Sweep once: overdue queued decisions, interrupted or unconfirmed ones, dead syncs."

    def handle(self, *args: Any, **options: Any) -> None:
        done = housekeeping.sweep()
        self.stdout.write(
            f"{done['queued_sent']} queued decisions sent, {done['decisions_taken_over']} "
            f"interrupted decisions taken over, {done['decisions_settled']} settled, "
            f"{done['syncs_abandoned']} dead syncs freed."
        )
