"""Navigation: the queues with their counts (computed only when a page shows them), what the
signed-in user may do, and their role."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.http import HttpRequest, QueryDict
from django.utils.functional import SimpleLazyObject

from requests_app import queues, roles
from requests_app.impact import uses_sandbox
from requests_app.views.common import account_sid, current_account, granted

# A query string with nothing in it, for {% querystring no_filters queue=code %}: a link that
# sets only what it names (the top bar's queues, "Clear filters").
NO_FILTERS = QueryDict()


def by_app(perms: frozenset[str]) -> dict[str, dict[str, bool]]:
    """{'requests_app': {'run_sync': True, ...}, ...}: `{% if can.requests_app.run_sync %}`."""
    apps: dict[str, dict[str, bool]] = defaultdict(dict)
    for name in perms:
        app_label, _, codename = name.partition(".")
        apps[app_label][codename] = True
    return dict(apps)


def queue_links(request: HttpRequest, user: Any) -> list[dict[str, Any]]:
    """The top bar's queues: code, label, count, and whether it is the one shown."""
    counts = queues.queue_counts(account_sid(request), user, current_account(request))
    shown = request.GET.get("queue")
    return [
        {"code": code, "label": label, "count": counts.get(code, ""), "current": code == shown}
        for code, label in queues.QUEUES
    ]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_links": SimpleLazyObject(lambda: queue_links(request, user)),
        "nav_queues": queues.QUEUES,
        "no_filters": NO_FILTERS,
        "can": SimpleLazyObject(lambda: by_app(granted(request))),
        "role": SimpleLazyObject(lambda: roles.role_named_by(granted(request))),
        "sandbox_mode": uses_sandbox(),
        # The company impact.com's CompanyInformation names (tracking_values.refresh reads it).
        "account_name": SimpleLazyObject(lambda: current_account(request).name),
    }
