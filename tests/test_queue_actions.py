"""Claim, release and assign from the request page: bad input is a clear 400, and a request
someone else holds asks to confirm the action that was asked for."""

from __future__ import annotations

import pytest
from django.urls import reverse

from requests_app import queues
from requests_app.models import AuditEvent
from tests.conftest import in_account

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("to", ["abc", " ", "", "1.5", "²", "9" * 30, "-1"])
def test_assigning_to_a_value_that_is_no_teammate_is_a_clear_400(as_alice, make_request, to):
    tvr = make_request()

    response = as_alice.post(reverse("requests:assign", args=[tvr.impact_id]), {"to": to})

    assert response.status_code == 400
    assert "Choose a teammate to assign it to." in response.content.decode()
    tvr.refresh_from_db()
    assert tvr.assigned_to is None
    assert not AuditEvent.objects.filter(action="assign").exists()


def test_assigning_with_no_teammate_at_all_is_a_clear_400(as_alice, make_request):
    tvr = make_request()

    response = as_alice.post(reverse("requests:assign", args=[tvr.impact_id]))

    assert response.status_code == 400


def test_assigning_an_unheld_request_needs_no_confirmation(as_alice, make_request, bob):
    tvr = make_request()

    response = as_alice.post(reverse("requests:assign", args=[tvr.impact_id]), {"to": bob.pk})

    assert response.status_code == 302
    tvr.refresh_from_db()
    assert tvr.assigned_to == bob


@pytest.mark.parametrize(
    ("action", "data", "button"),
    [
        ("claim", {}, "Claim anyway"),
        ("release", {}, "Release anyway"),
        ("assign", {"to": "me"}, "Assign anyway"),
    ],
)
def test_a_request_someone_else_holds_asks_to_confirm_the_action_asked_for(
    client, alice, bob, make_request, action, data, button
):
    tvr = make_request()
    queues.claim(request=tvr, user=bob)
    client.force_login(alice)
    if data.get("to") == "me":
        data = {"to": alice.pk}

    response = client.post(reverse(f"requests:{action}", args=[tvr.impact_id]), data)

    assert response.status_code == 409
    html = response.content.decode()
    assert f"Confirm below to {action} it anyway" in html
    others = {"claim", "release", "assign"} - {action}
    assert not any(f"Confirm below to {other} it" in html for other in others)
    url = reverse(f"requests:{action}", args=[tvr.impact_id])
    form = html[html.index(f'action="{in_account(url)}" class="confirm"') :]
    form = form[: form.index("</form>")]
    assert 'name="confirm" value="1"' in form and button in form
    if action == "assign":
        assert f'name="to" value="{alice.pk}"' in form


def test_confirming_the_release_releases_it(client, alice, bob, make_request):
    tvr = make_request()
    queues.claim(request=tvr, user=bob)
    client.force_login(alice)

    url = reverse("requests:release", args=[tvr.impact_id])
    response = client.post(url, {"confirm": "1"})

    assert response.status_code == 302
    tvr.refresh_from_db()
    assert tvr.assigned_to is None
    assert AuditEvent.objects.filter(action="release").get().detail == {"released_for": "bob"}


def test_the_request_pages_assign_form_does_not_confirm_in_advance(as_alice, bob, make_request):
    tvr = make_request()
    queues.claim(request=tvr, user=bob)

    html = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()

    url = reverse("requests:assign", args=[tvr.impact_id])
    form = html[html.index(f'action="{in_account(url)}"') :]
    form = form[: form.index("</form>")]
    assert 'name="to"' in form and 'name="confirm"' not in form


def test_assigning_a_request_another_reviewer_holds_asks_first_and_changes_nothing(
    as_alice, admin, bob, make_request
):
    tvr = make_request()
    queues.claim(request=tvr, user=bob)
    events = AuditEvent.objects.count()
    url = reverse("requests:assign", args=[tvr.impact_id])

    response = as_alice.post(url, {"to": admin.pk})  # what the page's assign form sends

    assert response.status_code == 409
    html = response.content.decode()
    assert "bob</strong> is working on this request. Confirm below to assign it anyway" in html
    form = html[html.index(f'action="{in_account(url)}" class="confirm"') :]
    form = form[: form.index("</form>")]
    assert 'name="confirm" value="1"' in form and f'name="to" value="{admin.pk}"' in form
    tvr.refresh_from_db()
    assert tvr.assigned_to == bob
    assert AuditEvent.objects.count() == events  # nothing recorded: nothing was done

    as_alice.post(url, {"to": admin.pk, "confirm": "1"})  # the "Assign anyway" button

    tvr.refresh_from_db()
    assert tvr.assigned_to == admin
    event = AuditEvent.objects.filter(action="assign").get()
    assert event.detail == {"to": "ada", "previous": "bob"}


def test_assigning_to_no_one_over_htmx_says_why_in_the_card(as_alice, make_request):
    tvr = make_request()

    response = as_alice.post(
        reverse("requests:assign", args=[tvr.impact_id]), {"to": ""}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert '<section id="decision"' in body and "Choose a teammate to assign it to." in body
    tvr.refresh_from_db()
    assert tvr.assigned_to is None
