"""Sign-in: every attempt audited, and throttled from the audit trail itself.

Failed attempts are counted from audit events in the database, so the limit holds across
every web process and machine (nothing depends on process memory).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from requests_app import audit
from requests_app.models import AuditEvent

SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_OUT = "sign_out"


def client_ip(request: HttpRequest | None) -> str:
    # REMOTE_ADDR only: a forwarded header can be forged unless the proxy is trusted.
    return (request.META.get("REMOTE_ADDR", "") if request else "")[:45]


def _recent_failures(**match: str) -> int:
    window = timezone.now() - timedelta(minutes=settings.TVR_SIGNIN_WINDOW_MINUTES)
    failures = AuditEvent.objects.filter(action=SIGN_IN_FAILED, created_at__gte=window)
    return failures.filter(**{f"detail__{k}": v for k, v in match.items()}).count()


def is_throttled(username: str, ip: str) -> bool:
    """Too many recent failures for this username, or from this address."""
    return _recent_failures(username=username.lower()) >= settings.TVR_SIGNIN_MAX_FAILURES or (
        bool(ip) and _recent_failures(ip=ip) >= settings.TVR_SIGNIN_MAX_FAILURES_PER_IP
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = AuthenticationForm.error_messages | {
        "throttled": (
            "Too many failed sign-ins. Wait %(minutes)s minutes and try again, "
            "or ask an admin to reset your password."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip()
        if username and is_throttled(username, client_ip(self.request)):
            audit.record(
                action=SIGN_IN_FAILED,
                outcome=AuditEvent.Outcome.FAILURE,
                detail={
                    "username": username.lower(),
                    "ip": client_ip(self.request),
                    "throttled": True,
                },
            )
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": settings.TVR_SIGNIN_WINDOW_MINUTES},
            )
        return super().clean()


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    audit.record(
        action=SIGN_IN,
        outcome=AuditEvent.Outcome.SUCCESS,
        actor=user,
        detail={"ip": client_ip(request)},
    )


@receiver(user_logged_out)
def _signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(action=SIGN_OUT, outcome=AuditEvent.Outcome.INFO, actor=user)


@receiver(user_login_failed)
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django already masks the password in `credentials`; we keep only the username.
    audit.record(
        action=SIGN_IN_FAILED,
        outcome=AuditEvent.Outcome.FAILURE,
        detail={
            "username": str(credentials.get("username", "")).lower()[:150],
            "ip": client_ip(request),
        },
    )
