"""`manage.py grant USERNAME SID --role viewer|reviewer|admin`: a person's role on one account."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from requests_app import accounts, roles


class Command(BaseCommand):
    help = "Give a user a role on one impact.com account (--role none takes it away)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("sid", metavar="SID")
        parser.add_argument("--role", choices=[*roles.ROLES, "none"], required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: options["username"]}).first()
        if user is None:
            raise CommandError(
                f"No user {options['username']!r}: create them first with manage.py create_user."
            )
        role = None if options["role"] == "none" else options["role"]
        try:
            accounts.grant_role(user, options["sid"], role)
        except accounts.AccountRefused as error:
            raise CommandError(error.message) from None
        what = f"{role} on" if role else "no role on"
        self.stdout.write(
            self.style.SUCCESS(f"{user.get_username()} is now {what} {options['sid']}.")
        )
