"""`manage.py rotate_account_tokens`: encrypt every stored token with the first key in
TVR_ENCRYPTION_KEYS (the README's key rotation, step 2)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from requests_app import accounts, credentials


class Command(BaseCommand):
    help = "Re-encrypt every account's stored token with the first key in TVR_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rotated = accounts.rotate_tokens()
        except credentials.TokenUnreadable as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Rotated {rotated} stored token(s)."))
