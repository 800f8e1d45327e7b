"""`manage.py create_user NAME --role reviewer`: a real user with one of the three roles."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from requests_app import roles


class Command(BaseCommand):
    help = "Create a user (or change an existing user's role) as viewer, reviewer or admin."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=roles.ROLES, required=True)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="Read the password from this environment variable instead of prompting.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        roles.ensure_roles()
        username = options["username"]
        user, created = User.objects.get_or_create(username=username)
        if created or options["password_env"]:
            password = self._password(options["password_env"])
            try:
                validate_password(password, user)
            except ValidationError as error:
                if created:
                    user.delete()
                raise CommandError(" ".join(error.messages)) from None
            user.set_password(password)
        if options["email"]:
            user.email = options["email"]
        user.is_staff = options["role"] == roles.ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=options["role"])])
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} as {options['role']}."))

    def _password(self, variable: str | None) -> str:
        if variable:
            value = os.environ.get(variable, "")
            if not value:
                raise CommandError(f"Environment variable {variable} is empty.")
            return value
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords did not match.")
        return first
