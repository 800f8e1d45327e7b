"""The three roles, as Django groups with permissions. Kept in step after every migrate."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

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
    "requests_app.delete_savedview",  # anyone's; owners delete their own without it
    "requests_app.view_signinfailure",
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


# --- what the signed-in user may do -----------------------------------------------------------
# Every page asks (the top bar's links, the list's checkboxes, each action's check). Django's
# ModelBackend answers with two queries per request; its answer changes only when users, groups
# or permissions change, and those changes bump every account's team version, so it is cached
# under that version and every process sees a change at once.


def permissions(user: Any, account: Any) -> frozenset[str]:
    """'app_label.codename' of every permission ModelBackend grants user (none when inactive
    or signed out), cached under the account's team version when there is an account."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()

    def compute() -> frozenset[str]:
        return frozenset(user.get_all_permissions())

    if account is None:
        return compute()
    return account.cached("perms", compute, vary=str(user.pk), follows="team")


def role_named_by(granted: frozenset[str]) -> str:
    """The role these permissions make, by the one permission each role adds (for display:
    the checks themselves ask for the permission)."""
    for role, marker in (
        (ADMIN, "requests_app.run_sync"),
        (REVIEWER, "requests_app.decide_request"),
        (VIEWER, "requests_app.view_trackingvaluerequest"),
    ):
        if marker in granted:
            return role
    return "no role"


# --- who can review, and the reasons they pick from -----------------------------------------
# The detail page offers both on every view. They change rarely and through models whose
# changes send signals, so they are cached under every account's team version and any change
# bumps it: every process sees the change at once.


def team_choices(account: Any) -> dict[str, list]:
    """The reviewers a request can be assigned to, (pk, username), and the active reasons."""
    from django.contrib.auth import get_user_model

    from requests_app.models import RejectionReason

    def compute() -> dict[str, list]:
        users = get_user_model().objects.filter(
            is_active=True, groups__permissions__codename="decide_request"
        )
        name = get_user_model().USERNAME_FIELD
        return {
            "reviewers": list(users.distinct().order_by(name).values_list("pk", name)),
            "reasons": RejectionReason.active_labels(),
        }

    return account.cached("team", compute, follows="team") if account is not None else compute()


def _team_changed(sender: Any, **kwargs: Any) -> None:
    from requests_app.models import Account

    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):
        return  # m2m_changed: only once the change is made
    fields = kwargs.get("update_fields")
    if fields is not None and set(fields) <= {"last_login"}:
        return  # a sign-in changes nobody's role
    Account.team_changed()


def watch_team_changes() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from requests_app.models import RejectionReason

    user = get_user_model()
    for signal, sender in [
        (post_save, user),
        (post_delete, user),
        (m2m_changed, user.groups.through),
        (m2m_changed, user.user_permissions.through),
        (m2m_changed, Group.permissions.through),
        (post_save, RejectionReason),
        (post_delete, RejectionReason),
    ]:
        signal.connect(_team_changed, sender=sender, dispatch_uid=f"team-{signal}-{sender}")
