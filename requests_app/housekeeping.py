"""The task worker's sweep: what a dead process left behind is settled within a minute.

A worker runs it when it starts and then every TVR_SWEEP_SECONDS from a thread of its own
(`manage.py db_worker`, our subclass of django-tasks-db's), so deploying needs no extra
command or cron line:
- a sync whose worker died (its lease lapsed) gives its slot up;
- a decision whose sender died mid-call becomes unconfirmed, and unconfirmed decisions are
  re-read from impact.com when due (backoff in decisions.CHECK_BACKOFF);
- a queued decision whose task was lost is sent once due;
- notifications are collected, gathered into messages when due, and sent or retried
  (notify.py).
It also starts each account's sync when that account is due (`start_due_syncs`): every
account on its own schedule, its own lock and its own rate-limit budget.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connections

from requests_app import accounts, decisions, notify, sync

logger = logging.getLogger(__name__)


def sweep() -> dict[str, int]:
    """One pass; every step is a conditional update, so two workers sweeping at once agree."""
    done = {
        "syncs_abandoned": sync.abandon_lapsed(),
        "decisions_taken_over": decisions.take_over_lapsed(),
        "queued_sent": decisions.send_due(),
        "decisions_settled": decisions.settle_due(),
    }
    if notify.due_to_collect():
        done |= {
            "notifications": notify.collect(),
            "messages_due": len(notify.dispatch()),
            "messages_sent": notify.send_due(),
        }
    if any(done.values()):
        logger.info("Sweep: %s", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in done.items()))
    return done


def start_due_syncs() -> list[str]:
    """Start the background sync of every account that is due for one (sync.due_kind, from
    its own last syncs). One account failing to start never keeps another from starting."""
    started = []
    for sid in accounts.syncable_sids():
        try:
            if sync.refresh_if_stale(sid) is not None:
                started.append(sid)
        except Exception:
            logger.exception("Could not start the sync of %s", sid)
    return started


class Sweeper:
    """Runs `sweep()` now and then every TVR_SWEEP_SECONDS in a daemon thread, until stopped."""

    def __init__(self, every: float | None = None) -> None:
        self.every = settings.TVR_SWEEP_SECONDS if every is None else every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="tvr-sweep", daemon=True)

    def __enter__(self) -> Sweeper:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=2)  # a pass mid-call is settled by the next sweep

    def _loop(self) -> None:
        while not self.stopped.is_set():
            try:
                sweep()
                if settings.TVR_SCHEDULED_SYNCS:
                    start_due_syncs()
            except Exception:  # the next pass tries again; the worker keeps running tasks
                logger.exception("Sweep failed")
            finally:
                connections.close_all()  # this thread's own connections, fresh each pass
            self.stopped.wait(self.every)
