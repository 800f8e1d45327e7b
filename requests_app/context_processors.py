"""Navigation: the queue counts (computed only when a page shows them) and the user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from requests_app import queues, roles
from requests_app.impact import default_account_sid, uses_sandbox


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_counts": SimpleLazyObject(lambda: queues.queue_counts(default_account_sid(), user)),
        "nav_queues": queues.QUEUES,
        "role": SimpleLazyObject(lambda: roles.role_of(user) or "no role"),
        "sandbox_mode": uses_sandbox(),
    }
