"""The admin keeps the list of rejection reasons in the app; reviewers pick from it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from requests_app.forms import RejectForm
from requests_app.models import RejectionReason

pytestmark = pytest.mark.django_db

OWN = settings.IMPACT_SANDBOX_ACCOUNT_SID  # the reasons are the account's


def offered() -> list[str]:
    form = RejectForm(labels=RejectionReason.active_labels(OWN))
    return [label for value, label in form.fields["reason"].choices if value]


def test_an_admin_adds_a_reason_and_reviewers_are_offered_it(client, admin):
    client.force_login(admin)
    response = client.post(reverse("requests:reasons"), {"label": "Code already in use"})
    assert response.status_code == 302
    client.post(reverse("requests:reasons"), {"label": "Not a partner we work with"})
    assert offered() == ["Code already in use", "Not a partner we work with"]
    page = client.get(reverse("requests:reasons")).content.decode()
    assert "Code already in use" in page and "Added the reason" in page


def test_a_duplicate_or_empty_reason_is_refused_with_a_message(client, admin):
    RejectionReason.objects.create(account_sid=OWN, label="Duplicate request")
    client.force_login(admin)
    response = client.post(reverse("requests:reasons"), {"label": "Duplicate request"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert client.post(reverse("requests:reasons"), {"label": "  "}).status_code == 400
    assert RejectionReason.objects.count() == 1


def test_hiding_a_reason_stops_offering_it_and_showing_brings_it_back(client, admin):
    reason = RejectionReason.objects.create(account_sid=OWN, label="Expired deal")
    client.force_login(admin)
    client.post(reverse("requests:change_reason", args=[reason.pk]))
    assert offered() == []
    client.post(reverse("requests:change_reason", args=[reason.pk]))
    assert offered() == ["Expired deal"]


def test_reasons_move_up_and_down(client, admin):
    a, _b, c = (
        RejectionReason.objects.create(account_sid=OWN, label=x, position=i)
        for i, x in enumerate("ABC")
    )
    client.force_login(admin)
    client.post(reverse("requests:change_reason", args=[c.pk]), {"move": "up"})
    assert offered() == ["A", "C", "B"]
    client.post(reverse("requests:change_reason", args=[a.pk]), {"move": "up"})  # already first
    client.post(reverse("requests:change_reason", args=[a.pk]), {"move": "down"})
    assert offered() == ["C", "A", "B"]


@pytest.mark.parametrize("who", ["viewer", "alice"])
def test_only_admins_keep_the_list(client, request, who):
    reason = RejectionReason.objects.create(account_sid=OWN, label="Kept")
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("requests:reasons")).status_code == 403
    assert client.post(reverse("requests:reasons"), {"label": "Sneaky"}).status_code == 403
    assert client.post(reverse("requests:change_reason", args=[reason.pk])).status_code == 403
    assert list(RejectionReason.objects.values_list("label", "active")) == [("Kept", True)]


@pytest.mark.parametrize("move", ["sideways", "UP", "up ", "0", "x" * 500])
def test_a_move_that_is_not_up_or_down_is_a_400_and_changes_nothing(client, admin, move):
    _a, b = (
        RejectionReason.objects.create(account_sid=OWN, label=x, position=i)
        for i, x in enumerate("AB")
    )
    client.force_login(admin)

    response = client.post(reverse("requests:change_reason", args=[b.pk]), {"move": move})

    assert response.status_code == 400
    assert "nothing was changed" in response.content.decode()
    assert list(RejectionReason.objects.values_list("label", "active")) == [
        ("A", True),
        ("B", True),
    ]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_reasons_page_answers_only_get_and_post(client, admin, method):
    client.force_login(admin)

    response = getattr(client, method)(reverse("requests:reasons"))

    assert response.status_code == 405
