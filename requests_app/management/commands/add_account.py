"""`manage.py add_account SID --token-env VAR [--name NAME] [--base-url URL]`: add an impact.com
account (or change one), once impact.com accepts its credentials."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from requests_app import accounts


class Command(BaseCommand):
    help = (
        "Add or update an impact.com account. The auth token is read from an environment "
        "variable (never from the command line, never printed) and stored encrypted."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("sid", metavar="SID", help="The account's AccountSID.")
        parser.add_argument(
            "--token-env",
            metavar="VAR",
            help="Environment variable holding the auth token (optional when updating).",
        )
        parser.add_argument("--name", default="", help="Display name (default: impact.com's).")
        parser.add_argument(
            "--base-url", default="", help="API base URL (default: IMPACT_API_BASE_URL)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        token = ""
        if options["token_env"]:
            token = os.environ.get(options["token_env"], "")
            if not token:
                raise CommandError(
                    f"Environment variable {options['token_env']} is not set (or empty); "
                    "nothing was saved."
                )
        try:
            saved = accounts.save_account(
                options["sid"], token=token, name=options["name"], base_url=options["base_url"]
            )
        except accounts.AccountRefused as error:
            raise CommandError(error.message) from None
        verb = "Added" if saved.created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} account {saved.account.sid} ({saved.account.name}): impact.com "
                f"answered for {saved.company.company_name or 'the account'}; grant people a "
                f"role with: manage.py grant USERNAME {saved.account.sid} --role reviewer"
            )
        )
