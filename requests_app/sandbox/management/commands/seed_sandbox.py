"""Fill the impact.com sandbox with deterministic, realistic tracking value requests."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from requests_app.sandbox import seed as seeding
from requests_app.sandbox.models import SandboxRequest


class Command(BaseCommand):
    help = "Seed the impact.com sandbox with N requests (deterministic for a given --seed and day)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, default=600, help="How many requests (600).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (1).")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the sandbox's requests first, and the dashboard's cached copies with "
            "their claims, comments and decisions (the audit trail is kept and marks the reset).",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if it has requests."
        )
        parser.add_argument("--account", default=settings.IMPACT_SANDBOX_ACCOUNT_SID)

    def handle(
        self, *args, count: int, seed: int, reset: bool, if_empty: bool, account: str, **options
    ) -> None:
        existing = SandboxRequest.objects.filter(account_sid=account).count()
        quiet = options.get("verbosity", 1) == 0
        if if_empty and existing and not reset:
            self.stdout.write(
                f"Sandbox already holds {existing} requests for {account}; left as is."
            )
            return
        total = seeding.seed(account, count=count, seed=seed, reset=reset)
        if reset and account != settings.IMPACT_ACCOUNT_SID:
            from requests_app import sandbox_reset

            gone = sandbox_reset.forget_account(
                account, reason=f"seed_sandbox --reset --count {count} --seed {seed}"
            )
            if not quiet:
                self.stdout.write(
                    f"Dashboard cache of {account} reset: {gone['requests']} cached requests, "
                    f"{gone['decisions']} decisions and their comments and claims deleted; it "
                    "syncs afresh. The audit trail is append-only and keeps its "
                    f"{gone['earlier_audit_events']} earlier events (they name requests of the "
                    "previous seeding); a 'sandbox reset' event marks the cut."
                )
        if not quiet:
            self.stdout.write(
                self.style.SUCCESS(f"Sandbox now holds {total} requests for {account}.")
            )
