"""`manage.py sync_requests`: bring the cache up to date with impact.com."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from requests_app import accounts, impact, rules, sync, tracking_values
from requests_app.models import SyncRun


class Command(BaseCommand):
    help = "Sync tracking value requests from impact.com (or the sandbox) into the cache."

    def add_arguments(self, parser: Any) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--account", help="AccountSID (default: the deployment's own account)")
        which.add_argument(
            "--all",
            action="store_true",
            help="Every account, one after another; one's failure does not stop the others.",
        )
        parser.add_argument(
            "--open-only", action="store_true", help="Only requests in state NEW (fast)."
        )
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing unless the sync fails."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = SyncRun.Kind.OPEN if options["open_only"] else SyncRun.Kind.FULL
        if not options["all"]:
            self.sync_one(options["account"] or impact.default_account_sid(), kind, options)
            return
        failed = []
        for sid in accounts.syncable_sids():
            try:
                self.sync_one(sid, kind, options)
            except CommandError as error:
                self.stderr.write(f"{sid}: {error}")
                failed.append(sid)
        if failed:
            raise CommandError(f"The sync of {', '.join(failed)} failed; the others are done.")

    def sync_one(self, account: str, kind: str, options: dict[str, Any]) -> None:
        quiet = options["quiet"]

        def progress(run: SyncRun) -> None:
            if not quiet:
                total = run.pages_total or "?"
                self.stdout.write(
                    f"  page {run.pages_done}/{total}: {run.created} new, {run.updated} changed, "
                    f"{run.unchanged} unchanged"
                )

        if not quiet:
            self.stdout.write(f"{kind.label} sync of {account}…")
        try:
            run = sync.run_sync(account, kind, progress=progress)
        except sync.SyncAlreadyRunning as error:
            started = f" (started {error.run.started_at:%H:%M:%S})" if error.run else ""
            raise CommandError(f"A sync of {account} is already running{started}.") from None
        except impact.NotConfigured as error:
            raise CommandError(error.message) from None
        seconds = run.duration.total_seconds() if run.duration else 0.0
        summary = (
            f"{run.pages_done} pages, {run.created} new, {run.updated} changed, "
            f"{run.unchanged} unchanged, {run.gone} gone, {run.api_calls} API calls "
            f"in {seconds:.1f}s"
        )
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(f"Sync failed after {summary}: {run.error}")
        values = tracking_values.after_sync(run)
        if values is not None and values.error:
            # The requests are synced; the pickers keep yesterday's lists.
            self.stderr.write(
                f"The account's URLs, numbers and codes were not read: {values.error}"
            )
        if not quiet:
            self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))
        acted = rules.after_sync(run)
        if acted is not None and not quiet and (acted.total or acted.stopped):
            made = ", ".join(f"{count} {outcome}" for outcome, count in acted.decided.items())
            stopped = f" Rules stopped: {acted.stopped}." if acted.stopped else ""
            self.stdout.write(f"Rules decided {acted.total} requests ({made or 'none'}).{stopped}")
