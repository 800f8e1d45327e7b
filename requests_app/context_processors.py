"""Navigation: the queues with their counts (computed only when a page shows them), what the
signed-in user may do, and their role."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, QueryDict
from django.utils.functional import SimpleLazyObject

from requests_app import queues, roles
from requests_app.impact import default_account_sid, uses_sandbox
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


def account_choices(request: HttpRequest, user: Any) -> list[tuple[str, str]]:
    """The accounts the person may open, (SID, name), for the top bar's switcher; cached
    under the team version, which a new account or grant changes."""

    def compute() -> list[tuple[str, str]]:
        return [(account.sid, str(account)) for account in roles.visible_accounts(user)]

    return current_account(request).cached("accounts", compute, vary=str(user.pk), follows="team")


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        current_account(request)
    except (Http404, PermissionDenied):
        return {"no_filters": NO_FILTERS}  # the page says the account is not theirs
    return {
        "nav_links": SimpleLazyObject(lambda: queue_links(request, user)),
        "nav_queues": queues.QUEUES,
        "no_filters": NO_FILTERS,
        "can": SimpleLazyObject(lambda: by_app(granted(request))),
        "role": SimpleLazyObject(lambda: roles.role_named_by(granted(request))),
        # The built-in simulator answers for this account (not for one added with a token).
        "sandbox_mode": SimpleLazyObject(
            lambda: uses_sandbox() and current_account(request).sid == default_account_sid()
        ),
        # The company impact.com's CompanyInformation names (tracking_values.refresh reads it).
        "account_name": SimpleLazyObject(lambda: current_account(request).name),
        "account_sid": SimpleLazyObject(lambda: current_account(request).sid),
        "account_choices": SimpleLazyObject(lambda: account_choices(request, user)),
        # Why every rule of the account is stopped, if it is (told to everyone on every page).
        "rules_stopped_why": SimpleLazyObject(
            lambda: (
                current_account(request).rules_stopped_why
                if current_account(request).rules_stopped_at
                else ""
            )
        ),
    }
