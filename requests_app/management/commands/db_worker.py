"""`manage.py db_worker`: django-tasks-db's worker, plus the sweep (housekeeping.py) that
settles what a dead worker or web process left, on start and every TVR_SWEEP_SECONDS."""

from __future__ import annotations

import os
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from requests_app.housekeeping import Sweeper


class Command(DatabaseWorkerCommand):
    help = "Run the database task worker, sweeping lapsed syncs and unsettled decisions."

    def handle(self, *args: Any, **options: Any) -> None:
        watching = options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        if watching:  # the autoreloader's parent only watches files; its child sweeps
            return super().handle(*args, **options)
        with Sweeper():
            return super().handle(*args, **options)
