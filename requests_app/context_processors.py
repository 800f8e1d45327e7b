"""Navigation: the queue counts (computed only when a page shows them) and the user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from requests_app import queues, roles
from requests_app.impact import default_account_sid, uses_sandbox


def role_from_perms(user: Any) -> str:
    """The role, read from the permissions the request already loaded (no extra query)."""
    if user.has_perm("requests_app.run_sync"):
        return roles.ADMIN
    if user.has_perm("requests_app.decide_request"):
        return roles.REVIEWER
    if user.has_perm("requests_app.view_trackingvaluerequest"):
        return roles.VIEWER
    return "no role"


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_counts": SimpleLazyObject(
            lambda: queues.queue_counts(
                default_account_sid(), user, getattr(request, "tvr_account", None)
            )
        ),
        "nav_queues": queues.QUEUES,
        "role": SimpleLazyObject(lambda: role_from_perms(user)),
        "sandbox_mode": uses_sandbox(),
    }
