"""Accounts: switching between the ones a person may open, adding them (superusers), and
who holds which role on the account shown (its admins)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from requests_app import accounts, impact, queues, roles
from requests_app.forms import AccountForm, GrantForm
from requests_app.middleware import links_carry
from requests_app.models import Account

from .common import account_sid, permission_required, remember_account, render


@require_GET
def switch_account(request: HttpRequest) -> HttpResponse:
    """Open another of the person's accounts (the top bar's "Account"), remembered from now on."""
    sid = request.GET.get("to", "")
    if sid not in {account.sid for account in roles.visible_accounts(request.user)}:
        raise Http404("No such account.")
    remember_account(request, sid)
    links_carry(request, sid)
    queue = request.GET.get("queue", "")
    if queue in dict(queues.QUEUES):
        return redirect(reverse("requests:list", query={"queue": queue}))
    return redirect("requests:list")


@require_GET
def all_accounts(request: HttpRequest) -> HttpResponse:
    """Open requests across every account the person may open, by queue: where to look next."""
    rows = [
        (account, queues.queue_counts(account.sid, request.user, account))
        for account in roles.visible_accounts(request.user)
    ]
    return render(
        request, "requests_app/all_accounts.html", {"rows": rows, "queues": queues.QUEUES}
    )


def _accounts_page(request: HttpRequest, form: AccountForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "accounts": Account.objects.order_by("name", "sid"),
        "own_sid": impact.default_account_sid(),
        "sandbox_answers": impact.uses_sandbox(),
    }
    response = render(request, "requests_app/accounts.html", context)
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
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
    if not form.is_valid():
        messages.error(request, "Pick a person and a role.")
        return redirect("requests:team")
    user, role = form.cleaned_data["user"], form.cleaned_data["role"] or None
    if user.pk == request.user.pk and not request.user.is_superuser:
        messages.error(request, "Ask another admin to change your own role.")
        return redirect("requests:team")
    sid = account_sid(request)
    accounts.grant_role(user, sid, role, actor=request.user)
    what = f"is now {role}" if role else "no longer has a role"
    messages.success(request, f"{user.get_username()} {what} on this account.")
    return redirect("requests:team")
