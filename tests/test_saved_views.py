"""Saved views: anyone saves their own; only the owner or an admin deletes one."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils.html import escape

from requests_app.models import SavedView
from tests.conftest import in_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_view(bob, sandbox_sid) -> SavedView:
    return SavedView.objects.create(
        account_sid=sandbox_sid, owner=bob, name="Bob's overdue", query="queue=overdue"
    )


def test_holding_export_audit_does_not_let_someone_delete_another_persons_view(
    client, alice, bobs_view
):
    alice.user_permissions.add(Permission.objects.get(codename="export_audit"))
    client.force_login(alice)

    response = client.post(reverse("requests:delete_view", args=[bobs_view.pk]))

    assert response.status_code == 403
    assert SavedView.objects.filter(pk=bobs_view.pk).exists()


@pytest.mark.parametrize("who", ["viewer", "alice"])
def test_no_one_else_deletes_another_persons_view(client, request, bobs_view, who):
    client.force_login(request.getfixturevalue(who))

    assert client.post(reverse("requests:delete_view", args=[bobs_view.pk])).status_code == 403
    assert SavedView.objects.filter(pk=bobs_view.pk).exists()


@pytest.mark.parametrize("who", ["bob", "admin"])
def test_the_owner_or_an_admin_deletes_a_view(client, request, bobs_view, who):
    client.force_login(request.getfixturevalue(who))

    response = client.post(reverse("requests:delete_view", args=[bobs_view.pk]))

    assert response.status_code == 302
    assert not SavedView.objects.filter(pk=bobs_view.pk).exists()


def test_deleting_a_view_asks_first_on_a_page_of_its_own(client, bobs_view):
    client.force_login(bobs_view.owner)
    body = client.get(reverse("requests:delete_view", args=[bobs_view.pk])).content.decode()
    assert f"Delete the saved view “{escape(bobs_view.name)}”?" in body
    assert f'href="{in_account("/?queue=overdue")}">Keep it</a>' in body
    assert f'action="{in_account(reverse("requests:delete_view", args=[bobs_view.pk]))}"' in body
    assert SavedView.objects.filter(pk=bobs_view.pk).exists()  # asking deletes nothing


def test_saving_a_view_opens_the_list_with_its_filters_encoded_once(as_alice):
    response = as_alice.post(
        reverse("requests:save_view"),
        {"name": "Late trail codes", "query": "?queue=overdue&q=trail+%26+co"},
    )

    assert response.status_code == 302
    assert response["Location"] == in_account("/?queue=overdue&q=trail+%26+co")
    assert SavedView.objects.get(name="Late trail codes").query == "queue=overdue&q=trail+%26+co"


def test_saving_a_view_of_the_unfiltered_list_opens_the_bare_list(as_alice):
    response = as_alice.post(reverse("requests:save_view"), {"name": "Everything", "query": ""})

    assert response.status_code == 302
    assert response["Location"] == in_account(reverse("requests:list"))  # not "/?"


def test_a_view_without_a_name_is_refused_and_the_list_opens_unfiltered(as_alice):
    response = as_alice.post(reverse("requests:save_view"), {"name": "", "query": "queue=mine"})

    assert response["Location"] == in_account(reverse("requests:list"))
    assert not SavedView.objects.exists()
