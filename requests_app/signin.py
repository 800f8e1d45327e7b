"""Sign-in: throttled per (username, address) and per address, with growing delays.

Failures are counted in the database (SignInFailure), so the limits hold across every web
process and machine. A person is throttled by the failures of their own username *from the
address they use* and by all failures from that address: an attacker elsewhere cannot lock
them out. Failures are aggregated, one row and one audit event per (username, address,
window) however many attempts there are, so a flood of POSTs cannot bloat the database.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, Sum
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from requests_app import audit
from requests_app.middleware import links_plain
from requests_app.models import AuditEvent, Preference, SignInFailure

SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_OUT = "sign_out"
ANY_USERNAME = ""  # the row that counts refusals from an address for usernames with no row


def client_ip(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or, behind TVR_TRUSTED_PROXIES proxies, the address
    the outermost of them saw (X-Forwarded-For is appended to by each proxy, so entries to the
    left of that one are whatever the client sent, and forgeable)."""
    if request is None:
        return ""
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.TVR_TRUSTED_PROXIES
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return request.META.get("REMOTE_ADDR", "")[:45]


def _username(value: Any) -> str:
    return str(value or "").strip().lower()[:150]


def _window_start(now: datetime) -> datetime:
    """The start of the window `now` falls in (windows are aligned to the epoch)."""
    size = settings.TVR_SIGNIN_WINDOW_MINUTES * 60
    return datetime.fromtimestamp(now.timestamp() // size * size, tz=now.tzinfo)


def _delay(failures: int, last: datetime | None, free: int, now: datetime) -> int:
    """Seconds still to wait: none for the first `free` failures, then a delay that doubles
    with each further one, up to TVR_SIGNIN_MAX_DELAY_SECONDS, counted from the last one."""
    if last is None or failures < free:
        return 0
    step = min(failures - free, 32)
    wait = min(settings.TVR_SIGNIN_MAX_DELAY_SECONDS, settings.TVR_SIGNIN_DELAY_SECONDS * 2**step)
    return max(0, math.ceil((last + timedelta(seconds=wait) - now).total_seconds()))


def retry_after(username: str, address: str, *, now: datetime | None = None) -> int:
    """Seconds before `username` may try again from `address` (0: now). One query."""
    now = now or timezone.now()
    remembered = timedelta(minutes=settings.TVR_SIGNIN_WINDOW_MINUTES)
    mine = Q(username=_username(username))
    seen = SignInFailure.objects.filter(address=address, last_at__gte=now - remembered).aggregate(
        pair=Sum("failures", filter=mine, default=0),
        pair_last=Max("last_at", filter=mine),
        here=Sum("failures", default=0),
        here_last=Max("last_at"),
    )
    return max(
        _delay(seen["pair"], seen["pair_last"], settings.TVR_SIGNIN_MAX_FAILURES, now),
        _delay(seen["here"], seen["here_last"], settings.TVR_SIGNIN_MAX_FAILURES_PER_IP, now),
    )


def _bump(username: str, address: str, now: datetime, **counts: Any) -> bool:
    """Add to the (username, address, window) row's counts; True when this created the row."""
    rows = SignInFailure.objects.filter(
        username=username, address=address, window_start=_window_start(now)
    )
    if rows.update(**counts):
        return False
    try:
        with transaction.atomic():
            rows.create(
                username=username,
                address=address,
                window_start=_window_start(now),
                first_at=now,
                last_at=now,
                failures=1 if "failures" in counts else 0,
                refused=1 if "refused" in counts else 0,
            )
    except IntegrityError:  # another process created it first
        rows.update(**counts)
        return False
    # Old rows are of no use to the throttle; the audit trail keeps one event per window.
    SignInFailure.objects.filter(last_at__lt=now - timedelta(days=1)).delete()
    return True


def record_failure(username: str, address: str) -> None:
    """A checked and wrong password: counted, and audited once per (username, address,
    window)."""
    now = timezone.now()
    username = _username(username)
    if _bump(username, address, now, failures=F("failures") + 1, last_at=now):
        audit.record(
            action=SIGN_IN_FAILED,
            outcome=AuditEvent.Outcome.FAILURE,
            detail={
                "username": username,
                "ip": address,
                "window_start": _window_start(now),  # repeats: counted on its SignInFailure
            },
        )


def record_refusal(username: str, address: str) -> None:
    """An attempt turned away unchecked: counted on the username's row when it has one, else
    on the address's, so a flood of made-up usernames adds no rows."""
    now = timezone.now()
    refused = {"refused": F("refused") + 1}
    rows = SignInFailure.objects.filter(
        username=_username(username), address=address, window_start=_window_start(now)
    )
    if not rows.update(**refused):
        _bump(ANY_USERNAME, address, now, **refused)


class ThrottledSignIn:
    """Refuse, before the password is checked, a username that must wait at this address."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = _username(self.cleaned_data.get("username"))
        address = client_ip(self.request)
        if username and (wait := retry_after(username, address)):
            record_refusal(username, address)
            raise ValidationError(
                "Too many attempts; try again in %(seconds)s second%(plural)s.",
                code="throttled",
                params={"seconds": wait, "plural": "" if wait == 1 else "s"},
            )
        return super().clean()  # type: ignore[misc]


class ThrottledAuthenticationForm(ThrottledSignIn, AuthenticationForm):
    """The sign-in page's form."""


class ThrottledAdminAuthenticationForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin site's sign-in form, throttled the same way (admin.site.login_form)."""


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    address = client_ip(request)
    # A person who got in is not guessing: their own failures from here no longer count.
    SignInFailure.objects.filter(username=_username(user.get_username()), address=address).delete()
    audit.record(
        action=SIGN_IN,
        outcome=AuditEvent.Outcome.SUCCESS,
        actor=user,
        detail={"ip": address},
    )
    _open_remembered_account(request, user)


def _open_remembered_account(request: HttpRequest | None, user: Any) -> None:
    """A new session opens the account the person last switched to (views/common)."""
    from requests_app.views.common import REMEMBERED_ACCOUNT

    rows = Preference.objects.filter(user=user.pk).exclude(account_sid="")
    remembered = rows.values_list("account_sid", flat=True).first()
    if remembered and getattr(request, "session", None) is not None:
        request.session[REMEMBERED_ACCOUNT] = remembered


@receiver(user_logged_out)
def _signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(action=SIGN_OUT, outcome=AuditEvent.Outcome.INFO, actor=user)
    if hasattr(request, "links_base"):
        links_plain(request)  # the next person to sign in here opens their own account


@receiver(user_login_failed)
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django already masks the password in `credentials`; we keep only the username.
    record_failure(credentials.get("username", ""), client_ip(request))
