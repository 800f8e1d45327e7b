"""Who is signed in and what they may do: Django's own session engine and ModelBackend, and
the permissions every page reads, cached under the account's team version."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import aget_user, get_user
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from requests_app import queues, roles
from requests_app.models import Account

pytestmark = pytest.mark.django_db


def test_an_expired_session_signs_nobody_in(client, alice, make_request):
    make_request()
    client.force_login(alice)
    assert client.get(reverse("requests:list")).status_code == 200

    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get(reverse("requests:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_unknown_session_key_signs_nobody_in(client, alice, make_request):
    make_request()
    client.force_login(alice)
    Session.objects.all().delete()  # e.g. signed out in another tab

    response = client.get(reverse("requests:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_each_of_many_sessions_signs_in_its_own_user(client, viewer, alice, admin, make_request):
    make_request()
    people = [(viewer, "viewer"), (alice, "reviewer"), (admin, "admin"), (viewer, "viewer")]
    for person, role in people:
        client.force_login(person)
        body = client.get(reverse("requests:list")).content.decode()
        assert f'{person.username} <span class="muted">({role})</span>' in body


def test_sync_and_async_sign_in_agree_and_the_role_on_the_account_gives_the_permissions(
    client, alice, sandbox_sid
):
    alice.user_permissions.add(Permission.objects.get(codename="run_sync"))  # not a role
    client.force_login(alice)
    request = type("R", (), {"session": client.session})()

    user = get_user(request)
    auser = async_to_sync(aget_user)(request)
    account = Account.objects.get(sid=sandbox_sid)

    assert user.pk == auser.pk == alice.pk
    assert roles.permissions(user, account) == set(roles.ROLE_PERMISSIONS[roles.REVIEWER])
    assert roles.permissions(auser, account) == roles.permissions(user, account)
    assert "requests_app.run_sync" not in roles.permissions(user, account)
    assert not roles.may(user, "requests_app.run_sync", sandbox_sid)


def test_a_role_change_reaches_the_next_page_at_once(client, alice, live_request, sandbox_sid):
    tvr = live_request(
        RequestType="BRANDED_URL_TRACKING", PromoCodes=[], UniqueUrls=[{"Id": "1", "Url": ""}]
    )
    client.force_login(alice)
    assert 'name="ids"' in client.get(reverse("requests:list")).content.decode()  # cached now

    roles.grant(alice, sandbox_sid, roles.VIEWER)

    body = client.get(reverse("requests:list")).content.decode()
    assert 'name="ids"' not in body and '<span class="muted">(viewer)</span>' in body
    approve = client.post(reverse("requests:approve", args=[tvr.impact_id]), {"url_id": "5"})
    assert approve.status_code == 403

    roles.grant(alice, sandbox_sid, roles.REVIEWER)
    assert 'name="ids"' in client.get(reverse("requests:list")).content.decode()


def test_a_deactivated_user_is_signed_out_on_the_next_page(client, alice, make_request):
    make_request()
    client.force_login(alice)
    client.get(reverse("requests:list"))

    alice.is_active = False
    alice.save()

    response = client.get(reverse("requests:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_permissions_are_read_once_and_not_again_until_the_team_changes(
    as_alice, alice, make_request, sandbox_sid
):
    make_request()
    url = reverse("requests:list")
    as_alice.get(url)

    def permission_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            as_alice.get(url)
        return sum("requests_app_grant" in q["sql"] for q in queries.captured_queries)

    assert permission_queries() == 0
    queues.claim(request=make_request(), user=alice)  # the requests change, not the team
    assert permission_queries() == 0
    roles.grant(alice, sandbox_sid, roles.VIEWER)  # the team changes
    assert permission_queries() == 2  # her role here, and her accounts for the switcher
