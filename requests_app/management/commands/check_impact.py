"""`manage.py check_impact`: do the configured credentials work? Asks impact.com (or the
sandbox) for the account's CompanyInformation, the call public clients use as their check."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from requests_app import impact
from requests_app.models import Account


class Command(BaseCommand):
    help = "Check the impact.com credentials by reading the account's CompanyInformation."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--account", help="AccountSID (default: the configured account)")

    def handle(self, *args: Any, **options: Any) -> None:
        sid = options["account"] or impact.default_account_sid()
        try:
            client = impact.get_client(sid)
            info = client.company_information(
                deadline=impact.Deadline(settings.IMPACT_INTERACTIVE_TIMEOUT)
            )
        except impact.ImpactError as error:
            raise CommandError(f"impact.com account {sid}: {error.message}") from None
        Account.objects.update_or_create(sid=sid, defaults={"name": info.company_name})
        where = "the sandbox" if impact.uses_sandbox() else client.base_url
        details = ", ".join(p for p in (info.website, info.timezone, info.currency) if p)
        self.stdout.write(
            self.style.SUCCESS(
                f"{where} answered for {sid}: {info.company_name}"
                f"{f' ({details})' if details else ''}; API version {settings.IMPACT_API_VERSION}."
            )
        )
