"""The three roles, held per account (`Grant`), and what each lets a person do there.

A person's role on an account is a `Grant` row; the permission names below are what each role
carries, asked for by the views (`views/common.permission_required`) for the account of the
object being acted on. Django's admin site is for superusers, plus account admins for the
sign-ins themselves: holding the admin role anywhere puts a person in the "admin" group,
which carries only the user-management permissions.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery
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
    "requests_app.view_rule",
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
    "requests_app.add_rule",
    "requests_app.change_rule",
    "requests_app.delete_rule",
    "requests_app.change_slatarget",
    "requests_app.delete_savedview",  # anyone's; owners delete their own without it
    "requests_app.view_signinfailure",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
]
VIEW = "requests_app.view_trackingvaluerequest"
DECIDE = "requests_app.decide_request"
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _VIEW,
    REVIEWER: _VIEW + _REVIEW,
    ADMIN: _VIEW + _REVIEW + _ADMIN,
}


# What the "admin" group carries in Django's admin site: the sign-ins, never the accounts' data.
USER_MANAGEMENT = ["auth.view_user", "auth.add_user", "auth.change_user"]


def ensure_roles(**kwargs: Any) -> None:
    """Create or update the "admin" group so it carries exactly the user-management
    permissions (the roles themselves are per account, see Grant)."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=ADMIN)
    wanted = []
    for name in USER_MANAGEMENT:
        app_label, codename = name.split(".")
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if perm is not None:
            wanted.append(perm)
    group.permissions.set(wanted)


def role_on(user: Any, account_sid: str) -> str | None:
    """The role `user` holds on the account (superusers count as admin everywhere)."""
    from requests_app.models import Grant

    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    grant = Grant.objects.filter(user=user.pk, account__sid=account_sid).first()
    return grant.role if grant else None


def may(user: Any, perm: str, account_sid: str) -> bool:
    """Whether `user`'s role on the account carries `perm` ('app_label.codename'): the check
    the actions themselves make, on the account of the request they act on."""
    if user.is_active and user.is_superuser:
        return True
    return perm in ROLE_PERMISSIONS.get(role_on(user, account_sid) or "", ())


def grant(user: Any, account_sid: str, role: str | None) -> None:
    """Give `user` `role` on the account (None takes every role there away), and keep their
    place in Django's admin site in step: staff and in the "admin" group while they are an
    admin of some account."""
    from django.contrib.auth.models import Group

    from requests_app.models import Account, Grant

    with transaction.atomic():
        account, _ = Account.objects.get_or_create(sid=account_sid)
        if role is None:
            Grant.objects.filter(user=user, account=account).delete()
        else:
            Grant.objects.update_or_create(user=user, account=account, defaults={"role": role})
        admin_somewhere = Grant.objects.filter(user=user, role=ADMIN).exists()
        if not user.is_superuser and user.is_staff != admin_somewhere:
            user.is_staff = admin_somewhere
            user.save(update_fields=["is_staff"])
        group = Group.objects.filter(name=ADMIN).first()
        if group is not None:
            if admin_somewhere:
                user.groups.add(group)
            else:
                user.groups.remove(group)


def visible_accounts(user: Any) -> list[Any]:
    """The accounts `user` may open, with their role on each as `role` (superusers: all)."""
    from requests_app.models import Account, Grant

    accounts = Account.objects.order_by("name", "sid")
    if user.is_superuser:
        everyone = list(accounts)
        for account in everyone:
            account.role = ADMIN
        return everyone
    role = Grant.objects.filter(account=OuterRef("pk"), user=user.pk).values("role")
    return list(accounts.annotate(role=Subquery(role)).filter(grants__user=user.pk))


# --- what the signed-in user may do -----------------------------------------------------------
# Every page asks (the top bar's links, the list's checkboxes, each action's check). The answer
# changes only when users, grants or reasons change, and those changes bump every account's
# team version, so it is cached under that version and every process sees a change at once.


def permissions(user: Any, account: Any) -> frozenset[str]:
    """'app_label.codename' of every permission `user` holds on `account` by their role there
    (a superuser: every permission; nobody signed out or inactive: none), cached under the
    account's team version."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()

    def compute() -> frozenset[str]:
        if user.is_superuser:
            return frozenset(user.get_all_permissions())
        return frozenset(ROLE_PERMISSIONS.get(role_on(user, account.sid) or "", ()))

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
            is_active=True,
            tvr_grants__account__sid=account.sid,
            tvr_grants__role__in=[r for r, perms in ROLE_PERMISSIONS.items() if DECIDE in perms],
        )
        name = get_user_model().USERNAME_FIELD
        return {
            "reviewers": list(users.distinct().order_by(name).values_list("pk", name)),
            "reasons": RejectionReason.active_labels(account.sid),
        }

    return account.cached("team", compute, follows="team")


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

    from requests_app.models import Grant, RejectionReason

    user = get_user_model()
    for signal, sender in [
        (post_save, Grant),
        (post_delete, Grant),
        (post_save, user),
        (post_delete, user),
        (m2m_changed, user.groups.through),
        (m2m_changed, user.user_permissions.through),
        (m2m_changed, Group.permissions.through),
        (post_save, RejectionReason),
        (post_delete, RejectionReason),
    ]:
        signal.connect(_team_changed, sender=sender, dispatch_uid=f"team-{signal}-{sender}")
