"""`manage.py create_demo_users`: one user per role, for trying the sandbox (sandbox mode only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from requests_app import impact, roles

DEMO_USERS = [
    ("viewer", roles.VIEWER),
    ("reviewer", roles.REVIEWER),
    ("reviewer2", roles.REVIEWER),
    ("admin", roles.ADMIN),
]
DEMO_PASSWORD = "tvr-demo-2026"


class Command(BaseCommand):
    help = "Create demo users (viewer, reviewer, reviewer2, admin) when running on the sandbox."

    def handle(self, *args: Any, **options: Any) -> None:
        if not impact.uses_sandbox():
            self.stdout.write("impact.com credentials are set: no demo users are created.")
            return
        roles.ensure_roles()
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(DEMO_PASSWORD)
                user.email = f"{username}@example.com"
                user.save()
            roles.grant(user, impact.default_account_sid(), role)
        self.stdout.write("Demo logins (sandbox only), password for all: " + DEMO_PASSWORD)
        for username, role in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role}")
