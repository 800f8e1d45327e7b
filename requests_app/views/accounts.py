"""Accounts: switching between the ones a person may open, adding them (superusers), and
who holds which role on the account shown (its admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from requests_app import accounts, impact, queues, roles
from requests_app.forms import AccountForm, GrantForm
from requests_app.middleware import address_in, links_carry
from requests_app.models import Account

from .common import account_sid, permission_required, remember_account, render


@require_POST
def switch_account(request: HttpRequest) -> HttpResponse:
    """Open another of the person's accounts (the top bar's "Account"), remembered from now on."""
    sid = request.POST.get("to", "")
    if sid not in {account.sid for account in roles.visible_accounts(request.user)}:
        raise Http404("No such account.")
    remember_account(request, sid)
    links_carry(request, sid)
    return redirect("requests:list")


@require_GET
def all_accounts(request: HttpRequest) -> HttpResponse:
    """Open requests across every account the person may open, by queue: where to look next.
    Each number links into its own account."""
    rows = []
    for account in roles.visible_accounts(request.user):
        counts = queues.queue_counts(account.sid, request.user, account)
        cells = [
            (
                label,
                counts.get(code, 0),
                address_in(request, account.sid, "requests:list", query={"queue": code}),
            )
            for code, label in queues.QUEUES
        ]
        rows.append((account, address_in(request, account.sid, "requests:list"), cells))
    return render(
        request, "requests_app/all_accounts.html", {"rows": rows, "queues": queues.QUEUES}
    )


def _accounts_page(request: HttpRequest, form: AccountForm, status: int = 200) -> HttpResponse:
    everyone = list(Account.objects.order_by("name", "sid"))
    for account in everyone:
        account.address = address_in(request, account.sid, "requests:list")
    context = {
        "form": form,
        "accounts": everyone,
        "own_sid": impact.default_account_sid(),
        "sandbox_answers": impact.uses_sandbox(),
    }
    response = render(request, "requests_app/accounts.html", context)
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("token")
def account_list(request: HttpRequest) -> HttpResponse:
    """Every account the deployment reviews; superusers add one or change one here."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only a superuser adds or changes impact.com accounts.")
    form = AccountForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return _accounts_page(request, form, 200 if request.method == "GET" else 400)
    data = form.cleaned_data
    try:
        saved = accounts.save_account(
            data["sid"],
            token=data["token"],
            name=data["name"],
            base_url=data["base_url"],
            actor=request.user,
        )
    except accounts.AccountRefused as error:
        form.add_error(None, error.message)
        return _accounts_page(request, form, 400)
    verb = "Added" if saved.created else "Updated"
    messages.success(
        request,
        f"{verb} {saved.account} ({saved.account.sid}): impact.com accepted its credentials.",
    )
    return redirect("requests:accounts")


@require_POST
@permission_required("change_account")
def grant(request: HttpRequest) -> HttpResponse:
    """Give a person a role on the account shown, or take it away (the Team page's form)."""
    form = GrantForm(request.POST)
    user_model = get_user_model()
    user = None
    if form.is_valid():
        name = {user_model.USERNAME_FIELD: form.cleaned_data["username"], "is_active": True}
        user = user_model.objects.filter(**name).first()
    if user is None:
        messages.error(request, "Give the username of an active sign-in, and a role.")
        return redirect("requests:team")
    role = form.cleaned_data["role"] or None
    if user.pk == request.user.pk and not request.user.is_superuser:
        messages.error(request, "Ask another admin to change your own role.")
        return redirect("requests:team")
    sid = account_sid(request)
    accounts.grant_role(user, sid, role, actor=request.user)
    what = f"is now {role}" if role else "no longer has a role"
    messages.success(request, f"{user.get_username()} {what} on this account.")
    return redirect("requests:team")
