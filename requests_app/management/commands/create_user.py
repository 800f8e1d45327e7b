"""`manage.py create_user NAME --role reviewer`: a real user with one of the three roles."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from requests_app import impact, roles
from requests_app.models import Account


class Command(BaseCommand):
    help = "Create a user (or change an existing user's role) as viewer, reviewer or admin."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=roles.ROLES, required=True)
        parser.add_argument(
            "--account",
            metavar="SID",
            help="The account the role is on (default: the deployment's own account).",
        )
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="Read the password from this environment variable instead of prompting.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        roles.ensure_roles()
        username = options["username"]
        sid = options["account"] or impact.default_account_sid()
        if options["account"] and not Account.objects.filter(sid=sid).exists():
            raise CommandError(f"No account {sid}: add it first with manage.py add_account.")
        for name in ("username", "email"):  # NUL, 151 characters, "not an email"
            try:
                User._meta.get_field(name).clean(options[name], None)
            except ValidationError as error:
                raise CommandError(f"{name}: {' '.join(error.messages)}") from None
        existing = User.objects.filter(username=username).first()
        password = None
        if existing is None or options["password_env"]:
            # Everything is checked before anything is written: a failure leaves no half-user.
            password = self._password(options["password_env"])
            probe = existing or User(username=username, email=options["email"])
            try:
                validate_password(password, probe)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        with transaction.atomic():
            user = existing or User(username=username)
            if password is not None:
                user.set_password(password)
            if options["email"]:
                user.email = options["email"]
            user.save()
            roles.grant(user, sid, options["role"])
        verb = "Updated" if existing else "Created"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} as {options['role']} on {sid}."))

    def _password(self, variable: str | None) -> str:
        if variable:
            value = os.environ.get(variable, "")
            if not value:
                raise CommandError(
                    f"Environment variable {variable} is not set (or empty); nothing was "
                    f"created. Set it first, e.g. read -s {variable} && export {variable}."
                )
            return value
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords did not match.")
        return first
