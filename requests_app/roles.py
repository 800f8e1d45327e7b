"""The three roles, as Django groups with permissions. Kept in step after every migrate."""

from __future__ import annotations

from typing import Any

VIEWER = "viewer"
REVIEWER = "reviewer"
ADMIN = "admin"
ROLES = (VIEWER, REVIEWER, ADMIN)

_VIEW = [
    "requests_app.view_trackingvaluerequest",
    "requests_app.view_syncrun",
    "requests_app.view_auditevent",
    "requests_app.view_decision",
    "requests_app.view_account",
]
_REVIEW = [
    "requests_app.decide_request",
    "requests_app.claim_request",
    "requests_app.comment_request",
]
_ADMIN = [
    "requests_app.run_sync",
    "requests_app.export_audit",
    "requests_app.add_account",
    "requests_app.change_account",
    "requests_app.add_rejectionreason",
    "requests_app.change_rejectionreason",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _VIEW,
    REVIEWER: _VIEW + _REVIEW,
    ADMIN: _VIEW + _REVIEW + _ADMIN,
}


def ensure_roles(**kwargs: Any) -> None:
    """Create or update the role groups so each has exactly its permissions."""
    from django.contrib.auth.models import Group, Permission

    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)


def role_of(user: Any) -> str | None:
    """The highest role a user holds (superusers count as admin)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    return next((r for r in reversed(ROLES) if r in names), None)
