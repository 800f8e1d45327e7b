"""impact.com accounts as data: adding or changing one (credentials checked with impact.com
first, token kept encrypted) and granting people a role on it. The app's Accounts and Team
pages and `manage.py add_account` / `grant` all go through here, and each leaves an audit
event (never with the token in it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from requests_app import audit, credentials, impact, roles
from requests_app.models import ACCOUNT_SID, Account, AuditEvent

SID_PATTERN = re.compile(ACCOUNT_SID)
MAX_TOKEN_LENGTH = 500
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ACCOUNT_SAVED = "account_saved"
ROLE_GRANTED = "role_granted"


class AccountRefused(Exception):
    """The account was not saved; `message` says why, for a person to read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Saved:
    account: Account
    created: bool
    company: impact.CompanyInformation


def check_sid(sid: str) -> str:
    if not SID_PATTERN.fullmatch(sid or ""):
        raise AccountRefused(
            "An AccountSID is 1-64 letters, digits, '-' or '_' (impact.com shows it under "
            "Settings → API)."
        )
    return sid


def check_base_url(base_url: str) -> str:
    """https, or plain http to this machine only (a local stand-in such as run_sandbox): a
    token never crosses a network in clear."""
    if not base_url:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(base_url)
    except ValidationError:
        raise AccountRefused("The API base URL must be an https address.") from None
    parts = urlsplit(base_url)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise AccountRefused(
            "The API base URL must be https (plain http only to this machine, for a local "
            "stand-in): the token would cross the network in clear."
        )
    return base_url.rstrip("/")


def save_account(
    sid: str, *, token: str = "", name: str = "", base_url: str = "", actor: Any = None
) -> Saved:
    """Add the account or change it, once impact.com accepts its credentials: the token given
    (or the one already stored, when none is), at `base_url`. The account is named from its
    CompanyInformation unless `name` is given. Nothing is saved when the check fails."""
    sid = check_sid(sid)
    base_url = check_base_url(base_url)
    if len(token) > MAX_TOKEN_LENGTH or not (token.isascii() and token.isprintable()):
        raise AccountRefused(
            f"An auth token is up to {MAX_TOKEN_LENGTH} printable ASCII characters; this one "
            "is not."
        )
    existing = Account.objects.filter(sid=sid).first()
    if not token:
        if existing is None or not existing.has_token:
            raise AccountRefused(f"Give account {sid}'s auth token: none is stored for it.")
        if base_url != existing.base_url:
            raise AccountRefused(
                "Give the auth token again to send it to another API address: a stored token "
                "only ever goes where it was checked."
            )
        try:
            token = existing.auth_token()
        except credentials.TokenUnreadable as error:
            raise AccountRefused(str(error)) from None
    client = impact.client_for(account_sid=sid, auth_token=token, base_url=base_url)
    try:
        company = client.company_information(
            deadline=impact.Deadline(settings.IMPACT_INTERACTIVE_TIMEOUT)
        )
    except impact.ImpactError as error:
        raise AccountRefused(
            f"impact.com did not accept account {sid}'s credentials: {error.message} "
            "Nothing was saved."
        ) from None
    with transaction.atomic():
        account, created = Account.objects.select_for_update().get_or_create(sid=sid)
        changed_token = not account.has_token or _stored_token(account) != token
        account.name = name.strip()[:200] or company.company_name[:200] or account.name
        account.base_url = base_url
        if changed_token:
            account.set_token(token)
        account.save()
        Account.team_changed()  # everyone's list of accounts (the top bar's switcher)
        audit.record(
            action=ACCOUNT_SAVED,
            outcome=AuditEvent.Outcome.SUCCESS,
            actor=actor,
            account_sid=sid,
            detail={
                "added": created,
                "name": account.name,
                "base_url": base_url,
                "token_changed": changed_token,
            },
        )
    return Saved(account=account, created=created, company=company)


def _stored_token(account: Account) -> str:
    try:
        return account.auth_token()
    except credentials.TokenUnreadable:
        return ""  # unreadable: the new one replaces it


def grant_role(user: Any, sid: str, role: str | None, *, actor: Any = None) -> None:
    """Give `user` `role` on account `sid` (None: no role there), with an audit event."""
    if role is not None and role not in roles.ROLES:
        raise AccountRefused(f"A role is one of {', '.join(roles.ROLES)}.")
    if not Account.objects.filter(sid=sid).exists() and sid != impact.default_account_sid():
        raise AccountRefused(f"No account {sid}: add it first.")
    with transaction.atomic():
        roles.grant(user, sid, role)
        audit.record(
            action=ROLE_GRANTED,
            outcome=AuditEvent.Outcome.SUCCESS,
            actor=actor,
            account_sid=sid,
            detail={"user": user.get_username(), "role": role or "none"},
        )


def syncable_sids() -> list[str]:
    """Every account the deployment can reach: its own (environment or sandbox) first, then
    each account added with a token."""
    own = impact.default_account_sid()
    added = Account.objects.exclude(token_encrypted="").exclude(sid=own).order_by("sid")
    return [own, *added.values_list("sid", flat=True)]


def rotate_tokens() -> int:
    """Encrypt every stored secret again (tokens, Slack webhooks) with the first key in
    TVR_ENCRYPTION_KEYS; how many accounts had one."""
    rotated = 0
    with transaction.atomic():
        stored = Account.objects.select_for_update().exclude(
            token_encrypted="", slack_webhook_encrypted=""
        )
        for account in stored:
            for field in ("token_encrypted", "slack_webhook_encrypted"):
                if getattr(account, field):
                    setattr(account, field, credentials.rotate(getattr(account, field)))
            account.save(update_fields=["token_encrypted", "slack_webhook_encrypted"])
            rotated += 1
    return rotated
