"""Helpers every view shares: the current account, object access, role checks, htmx replies."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers

from requests_app import decisions, impact, roles
from requests_app.middleware import links_carry, links_plain
from requests_app.models import Account, Preference, SyncRun, TrackingValueRequest


def account_sid(request: HttpRequest) -> str:
    """The AccountSID this request is about, once the signed-in person may open it: the one
    its address names (`/a/<SID>/…`), else the one they last switched to, else the
    deployment's own (the environment's account, or the sandbox's)."""
    return current_account(request).sid


def named_account_sid(request: HttpRequest) -> str:
    """The account the address names, or the remembered one (not yet checked)."""
    return getattr(request, "account_in_url", "") or remembered_account_sid(request)


def remembered_account_sid(request: HttpRequest) -> str:
    session = getattr(request, "session", None)
    remembered = session.get(REMEMBERED_ACCOUNT, "") if session is not None else ""
    return remembered or impact.default_account_sid()


REMEMBERED_ACCOUNT = "tvr_account"


class NoAccountGranted(PermissionDenied):
    """The person holds no role on any account yet."""


def _account_and_sync(sid: str) -> QuerySet[Account]:
    running = SyncRun.objects.filter(
        account_sid=OuterRef("sid"), status=SyncRun.Status.RUNNING
    ).exclude(kind=SyncRun.Kind.ONE)
    return Account.objects.annotate(syncing=Exists(running)).filter(sid=sid)


def account_with_sync(sid: str) -> Account:
    """The account and, in the same query, whether a sync of it is running. Only the
    deployment's own account is made on first use; an address naming any other account that
    was never added is a 404 (an address never adds an account)."""
    account = _account_and_sync(sid).first()
    if account is None:
        if sid != impact.default_account_sid():
            raise Http404("No such account.")
        Account.objects.get_or_create(sid=sid)
        account = _account_and_sync(sid).get()
    return account


def current_account(request: HttpRequest) -> Account:
    """The account this request is about, read once: the view, the permission checks and the
    top bar's queue counts share it. A person who holds no role on it gets a 404, as for
    anything else that is not theirs (superusers open every account)."""
    account = getattr(request, "tvr_account", None)
    if account is None:
        named = getattr(request, "account_in_url", "")
        try:
            account = account_with_sync(named_account_sid(request))
            perms = roles.permissions(request.user, account)
        except Http404:
            account, perms = None, frozenset()
        if roles.VIEW not in perms:
            if named:
                links_plain(request)  # the 404 page's links: the person's own account
                raise Http404("No such account.")
            account = first_granted_account(request)
            perms = roles.permissions(request.user, account)
        request.tvr_account, request.tvr_permissions = account, perms
    return account


def first_granted_account(request: HttpRequest) -> Account:
    """For an address without an account whose remembered one is not (or no longer) theirs:
    the first account the person holds a role on, remembered from now on."""
    visible = roles.visible_accounts(request.user)
    if not visible:
        raise NoAccountGranted(
            "No impact.com account has been granted to you yet: ask an admin to give you a "
            "role (manage.py grant, or the Team page)."
        )
    sid = visible[0].sid
    remember_account(request, sid)
    links_carry(request, sid)
    return account_with_sync(sid)


def remember_account(request: HttpRequest, sid: str) -> None:
    """Open `sid` from now on when an address names no account (this session and the next)."""
    if getattr(request, "session", None) is not None:
        request.session[REMEMBERED_ACCOUNT] = sid
    if request.user.is_authenticated:
        Preference.objects.update_or_create(user=request.user, defaults={"account_sid": sid})


# What the page uses of the request's account, read in the request's own query.
_VERSIONS = ("name", "data_version", "rows_version", "team_version")


def get_request_or_404(request: HttpRequest, impact_id: str) -> TrackingValueRequest:
    """A cached request of the request's account, or 404, also when the person holds no role
    on that account. In the same query: its account's id and versions (`tvr.account_now`,
    for what is cached under them, the person's permissions included) and its live and
    failed decisions (see decisions.with_live_and_failed)."""
    known = getattr(request, "tvr_account", None)
    sid = known.sid if known is not None else named_account_sid(request)
    accounts = Account.objects.filter(sid=OuterRef("account_sid"))
    rows = TrackingValueRequest.objects.select_related("assigned_to").annotate(
        account_pk=Subquery(accounts.values("pk")),
        **{f"account_{name}": Subquery(accounts.values(name)) for name in _VERSIONS},
    )
    tvr = get_object_or_404(
        decisions.with_live_and_failed(rows), account_sid=sid, impact_id=impact_id
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
    if known is None:
        perms = roles.permissions(request.user, tvr.account_now) if tvr.account_now else None
        if not perms or roles.VIEW not in perms:
            raise Http404("No such request.")
        request.tvr_account, request.tvr_permissions = tvr.account_now, perms
    return tvr


def granted(request: HttpRequest) -> frozenset[str]:
    """Every permission of the signed-in user on the request's account, read once per request
    (roles.permissions)."""
    current_account(request)
    return request.tvr_permissions


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
    "change_rule": "write, enable or stop rules",
    "view_rule": "read the rules",
    "export_audit": "export the audit trail",
    "run_sync": "start a sync with impact.com",
    "view_auditevent": "read the audit trail",
    "change_account": "change who holds which role on this account",
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
