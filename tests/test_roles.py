"""Every role against every action, enforced on the server (not only by hidden buttons)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ACTIONS = {
    "approve": ("requests:approve", True, {"url_id": "5"}),
    "reject": ("requests:reject", True, {}),
    "claim": ("requests:claim", True, {}),
    "release": ("requests:release", True, {}),
    "comment": ("requests:comment", True, {"body": "hello"}),
    "bulk_reject": ("requests:bulk_reject", False, {}),
    "sync": ("requests:sync", False, {}),
    "audit_export": ("requests:audit_export", False, None),
    "audit_page": ("requests:audit", False, None),
    "keep_reasons": ("requests:reasons", False, {"label": "Expired deal"}),
}
ALLOWED = {
    "viewer": {"audit_page"},
    "reviewer": {"approve", "reject", "claim", "release", "comment", "bulk_reject", "audit_page"},
    "admin": set(ACTIONS),
}


def done(action: str, tvr, response) -> bool:
    """Whether the action really happened (not merely answered something other than 403)."""
    from requests_app.models import Comment, Decision, RejectionReason, SyncRun

    tvr.refresh_from_db()
    evidence = {
        "approve": lambda: Decision.objects.filter(request=tvr, action="approve").exists(),
        "reject": lambda: Decision.objects.filter(request=tvr, action="reject").exists(),
        "claim": lambda: tvr.assigned_to_id is not None,
        "release": lambda: tvr.assigned_to_id is None,
        "comment": lambda: Comment.objects.filter(request=tvr, body="hello").exists(),
        "bulk_reject": lambda: Decision.objects.filter(request=tvr, action="reject").exists(),
        "sync": lambda: SyncRun.objects.exists(),
        "audit_export": lambda: response["Content-Type"].startswith("text/csv"),
        "audit_page": lambda: b"<h1>Audit trail</h1>" in response.content,
        "keep_reasons": lambda: RejectionReason.objects.filter(label="Expired deal").exists(),
    }
    return evidence[action]()


@pytest.mark.parametrize("role", ALLOWED)
@pytest.mark.parametrize("action", ACTIONS)
def test_role_can_or_cannot(client, viewer, alice, admin, live_request, role, action):
    from requests_app.models import TrackingValueRequest

    user = {"viewer": viewer, "reviewer": alice, "admin": admin}[role]
    tvr = live_request(
        RequestType="BRANDED_URL_TRACKING", PromoCodes=[], UniqueUrls=[{"Id": "1", "Url": ""}]
    )
    if action == "release":  # something to release
        TrackingValueRequest.objects.filter(pk=tvr.pk).update(assigned_to=user)
    client.force_login(user)
    name, per_request, data = ACTIONS[action]
    url = reverse(name, args=[tvr.impact_id]) if per_request else reverse(name)
    if action == "bulk_reject":
        data = {"ids": [tvr.impact_id]}
    response = client.get(url) if data is None else client.post(url, data)
    if action in ALLOWED[role]:
        # The page or export itself, or the redirect after the action; and the action done.
        assert response.status_code in (200, 302), response.status_code
        assert not response.get("Location", "").startswith(reverse("login"))
        assert done(action, tvr, response)
    else:
        assert response.status_code == 403
        assert not done(action, tvr, response)


# --- the user admin: only a superuser grants superuser, staff or permissions of one's own ------


def change_user(client, user, **extra):
    from django.contrib.auth.models import Group, Permission

    data = {
        "username": user.username,
        "first_name": "Changed",
        "last_name": "",
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [Group.objects.get(name="admin").pk],
        "user_permissions": [Permission.objects.get(codename="delete_auditevent").pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "last_login_0": "",
        "last_login_1": "",
        "_save": "Save",
        **extra,
    }
    return client.post(reverse("admin:auth_user_change", args=[user.pk]), data)


@pytest.fixture
def staff_admin(admin):
    admin.is_staff = True  # as create_user --role admin makes them
    admin.save()
    return admin


def test_an_admin_cannot_make_anyone_superuser_or_staff_even_with_a_crafted_post(
    client, staff_admin, alice
):
    client.force_login(staff_admin)

    page = client.get(reverse("admin:auth_user_change", args=[alice.pk])).content.decode()
    response = change_user(client, alice)

    for field in ("is_superuser", "is_staff", "user_permissions"):
        assert f'name="{field}"' not in page
    assert response.status_code == 302  # the rest of the change was saved
    alice.refresh_from_db()
    assert alice.first_name == "Changed"
    assert (alice.is_superuser, alice.is_staff) == (False, False)
    assert not alice.user_permissions.exists()


def test_an_admin_cannot_promote_themselves(client, staff_admin):
    client.force_login(staff_admin)

    assert change_user(client, staff_admin).status_code == 302

    staff_admin.refresh_from_db()
    assert not staff_admin.is_superuser
    assert not staff_admin.user_permissions.exists()


def test_an_admin_cannot_change_a_superusers_account_or_password(client, staff_admin):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", "root@example.com", "an-unusual-passphrase")
    client.force_login(staff_admin)

    response = change_user(client, root, is_superuser="")
    password = client.post(
        reverse("admin:auth_user_password_change", args=[root.pk]),
        {"password1": "taken-over-passphrase", "password2": "taken-over-passphrase"},
    )

    assert (response.status_code, password.status_code) == (403, 403)
    root.refresh_from_db()
    assert root.is_superuser and root.first_name == ""
    assert root.check_password("an-unusual-passphrase")


def test_a_superuser_can_grant_superuser_and_staff(client, alice):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", "root@example.com", "an-unusual-passphrase")
    client.force_login(root)

    assert change_user(client, alice).status_code == 302

    alice.refresh_from_db()
    assert (alice.is_superuser, alice.is_staff) == (True, True)
