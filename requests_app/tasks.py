"""Background work for the task worker (`manage.py db_worker`)."""

from __future__ import annotations

from django.tasks import task

from requests_app import rules, sync, tracking_values


@task()
def run_sync_task(run_id: int) -> dict[str, int | str] | None:
    """Execute a sync whose slot `sync.start_in_background` already claimed."""
    run = sync.execute_by_id(run_id)
    if run is None:
        return None
    tracking_values.after_sync(run)
    acted = rules.after_sync(run)
    return {
        "status": run.status,
        "created": run.created,
        "updated": run.updated,
        "gone": run.gone,
        "rule_decisions": acted.total if acted else 0,
    }


@task()
def send_decision_task(decision_id: int) -> str | None:
    """Send a queued approve or reject once its Undo window has passed."""
    from requests_app import decisions

    decision = decisions.send_queued(decision_id)
    return decision.status if decision else None


@task()
def settle_decision_task(decision_id: int) -> str | None:
    """Ask impact.com what became of an unconfirmed decision (the sweep asks again later)."""
    from requests_app import decisions
    from requests_app.models import Decision

    decision = (
        Decision.objects.select_related("request", "decided_by")
        .filter(pk=decision_id, status=Decision.Status.UNCONFIRMED)
        .first()
    )
    return decisions.settle(decision).status if decision else None


@task()
def send_delivery_task(delivery_id: int) -> str | None:
    """Send one notification message (the sweep retries what fails, with backoff)."""
    from requests_app import notify

    delivery = notify.send(delivery_id)
    return delivery.status if delivery else None


@task()
def restamp_task(account_sid: str) -> int:
    """Give the account's open requests their deadlines under its new targets."""
    from requests_app import sla

    return sla.restamp(account_sid)
