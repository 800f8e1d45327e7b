"""Helpers every view shares: the current account, object access, role checks, htmx replies."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers

from requests_app import decisions, impact, roles
from requests_app.models import Account, SyncRun, TrackingValueRequest


def account_sid(request: HttpRequest) -> str:
    """The advertiser account this deployment reviews (the sandbox's, without credentials)."""
    return impact.default_account_sid()


def _account_and_sync(sid: str) -> QuerySet[Account]:
    running = SyncRun.objects.filter(
        account_sid=OuterRef("sid"), status=SyncRun.Status.RUNNING
    ).exclude(kind=SyncRun.Kind.ONE)
    return Account.objects.annotate(syncing=Exists(running)).filter(sid=sid)


def account_with_sync(sid: str) -> Account:
    """The account and, in the same query, whether a sync of it is running."""
    account = _account_and_sync(sid).first()
    if account is None:
        Account.objects.get_or_create(sid=sid)
        account = _account_and_sync(sid).get()
    return account


def current_account(request: HttpRequest) -> Account:
    """The account this request is about, read once: the view, the permission checks and the
    top bar's queue counts share it (a view that read it some other way sets tvr_account)."""
    account = getattr(request, "tvr_account", None)
    if account is None:
        account = request.tvr_account = account_with_sync(account_sid(request))
    return account


_VERSIONS = ("data_version", "rows_version", "team_version")


def get_request_or_404(request: HttpRequest, impact_id: str) -> TrackingValueRequest:
    """A cached request of the current account, or 404. In the same query: its account's id
    and versions (`tvr.account_now`, for what is cached under them) and its live and failed
    decisions (see decisions.with_live_and_failed)."""
    accounts = Account.objects.filter(sid=OuterRef("account_sid"))
    rows = TrackingValueRequest.objects.select_related("assigned_to").annotate(
        account_pk=Subquery(accounts.values("pk")),
        **{f"account_{name}": Subquery(accounts.values(name)) for name in _VERSIONS},
    )
    tvr = get_object_or_404(
        decisions.with_live_and_failed(rows),
        account_sid=account_sid(request),
        impact_id=impact_id,
    )
    tvr.account_now = (
        Account(
            pk=tvr.account_pk,
            sid=tvr.account_sid,
            **{name: getattr(tvr, f"account_{name}") for name in _VERSIONS},
        )
        if tvr.account_pk is not None
        else None
    )
    return tvr


def granted(request: HttpRequest) -> frozenset[str]:
    """Every permission of the signed-in user, read once per request (roles.permissions)."""
    perms = getattr(request, "tvr_permissions", None)
    if perms is None:
        perms = request.tvr_permissions = roles.permissions(request.user, current_account(request))
    return perms


def can(request: HttpRequest, perm: str) -> bool:
    """Whether the signed-in user holds perm ('app_label.codename'), as user.has_perm says."""
    user = request.user
    return (user.is_active and user.is_superuser) or perm in granted(request)


# What each permission lets a person do, for the refusal page's sentence.
PERMISSION_WORDS = {
    "decide_request": "approve or reject requests",
    "claim_request": "claim, release or assign requests",
    "comment_request": "comment on requests",
    "change_rejectionreason": "edit the rejection reasons",
    "export_audit": "export the audit trail",
    "run_sync": "start a sync with impact.com",
    "view_auditevent": "read the audit trail",
}


def permission_required(perm: str) -> Callable:
    """403 unless the user's role carries `perm` (checked on the server for every action)."""
    what = PERMISSION_WORDS.get(perm, "do this")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not can(request, f"requests_app.{perm}"):
                role = roles.role_named_by(granted(request))
                raise PermissionDenied(f"The {role} role cannot {what}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def render(
    request: HttpRequest, template: str, context: dict[str, Any], *, partial: str = ""
) -> HttpResponse:
    """The full page, or only `partial` for an htmx request that is not a history restore."""
    htmx = getattr(request, "htmx", None)
    name = template
    if partial and htmx and not htmx.history_restore_request and not htmx.boosted:
        name = f"{template}#{partial}"
    response = TemplateResponse(request, name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def back_to(request: HttpRequest, fallback: str, *args: Any) -> HttpResponse:
    """After a plain POST: go back to a same-site `next`, else to `fallback`."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)  # text from a form is a URL, never a view name
    return redirect(fallback, *args)
