"""`manage.py send_due_decisions`: a safety net to run from cron beside the task worker.

Sends queued decisions whose Undo window has passed (in case a task was lost) and settles
decisions a crashed process left half-sent.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from requests_app import decisions


class Command(BaseCommand):
    help = "Send overdue queued decisions and settle ones interrupted mid-call."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = decisions.send_due()
        settled = decisions.recover_stuck()
        self.stdout.write(f"{sent} queued decisions sent, {settled} interrupted decisions settled.")
