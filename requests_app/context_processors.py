"""Navigation: the queue counts (computed only when a page shows them) and the user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
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


def queue_links(request: HttpRequest, user: Any) -> list[dict[str, Any]]:
    """The top bar's queues: link, label, count, and whether it is the one shown. Built here
    in one pass: through the template language the five links were 9% of an empty audit
    page's instructions, paid on every page."""
    account = getattr(request, "tvr_account", None)  # the view's, when it read the account
    counts = queues.queue_counts(default_account_sid(), user, account)
    shown = request.GET.get("queue")
    base = reverse("requests:list")
    return [
        {"href": f"{base}?queue={code}", "label": label, "count": counts.get(code, ""),
         "current": code == shown}
        for code, label in queues.QUEUES
    ]  # fmt: skip


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_links": SimpleLazyObject(lambda: queue_links(request, user)),
        "nav_queues": queues.QUEUES,
        "role": SimpleLazyObject(lambda: role_from_perms(user)),
        "sandbox_mode": uses_sandbox(),
    }
