"""`manage.py verify_audit`: walk the audit hash chain and name the first event that breaks it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from requests_app.audit import verify_chain


class Command(BaseCommand):
    help = "Check that no audit event was edited, removed or inserted out of order."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"Audit chain broken at event {broken.pk} ({broken}): it does not match its hash "
                f"or the event before it. {checked} events before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} events verified."))
