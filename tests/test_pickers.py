"""The approve forms' pickers: the account's branded URLs and phone numbers offered by the id
field's own widget (a datalist and an htmx search), typed ids still accepted, and promo codes
checked against every code of the account before approving."""

from __future__ import annotations

import pytest
from django.urls import reverse

from requests_app import tracking_values
from requests_app.models import Decision
from tests.fakes import FakeImpact

pytestmark = pytest.mark.django_db


@pytest.fixture
def account_values(sandbox_sid):
    fake = FakeImpact([])
    fake.tracking_values = {
        "url": [
            {"Id": "880001", "Url": "https://go.acme.example/r/tents", "State": "AVAILABLE"},
            {"Id": "880002", "Url": "https://go.acme.example/r/jackets", "State": "AVAILABLE"},
            {"Id": "880003", "Url": "https://go.acme.example/r/used", "State": "INUSE",
             "MediaPartnerName": "<b>Coupon Co</b>"},
        ],
        "phone": [{"Id": "440001", "Number": "+1 805 101 0001", "State": "AVAILABLE"}],
        "code": [
            {"Id": "1", "Code": "FALL24", "Type": "LI", "AssignedPartnerId": "99",
             "AssignedPartnerName": "Peak Podcast", "State": "ACTIVE"},
            {"Id": "2", "Code": "FALL25", "Type": "LI", "AssignedPartnerId": "98",
             "AssignedPartnerName": "Ridge Blog", "State": "ACTIVE"},
            {"Id": "3", "Code": "TRAIL20", "Type": "LI", "AssignedPartnerId": "98",
             "AssignedPartnerName": "Ridge Blog", "State": "ACTIVE"},
        ],
    }  # fmt: skip
    tracking_values.refresh(sandbox_sid, client=fake, force=True)


def branded(live_request):
    return live_request(
        RequestType="BRANDED_URL_TRACKING",
        PromoCodes=[],
        UniqueUrls=[{"Id": "1", "Url": "https://www.acme.example/p/tents"}],
    )


def test_the_branded_url_field_offers_the_accounts_urls_available_first(
    as_alice, live_request, account_values
):
    tvr = branded(live_request)
    page = as_alice.get(reverse("requests:detail", args=[tvr.impact_id])).content.decode()
    assert 'list="id_url_id-choices"' in page
    assert '<option value="880001">https://go.acme.example/r/tents · available</option>' in page
    assert page.index('value="880002"') < page.index('value="880003"')
    assert "&lt;b&gt;Coupon Co&lt;/b&gt;" in page and "<b>Coupon Co</b>" not in page
    assert reverse("requests:tracking_values", args=["url"]) in page


def test_the_search_lists_matching_values_as_buttons_that_fill_the_field(as_alice, account_values):
    url = reverse("requests:tracking_values", args=["url"])
    page = as_alice.get(url, {"q": "JACK", "target": "id_url_id"}, HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-pick-target="id_url_id" value="880002"' in body
    assert "880001" not in body
    assert "HX-Request" in page["Vary"]


def test_a_search_matching_nothing_says_so_and_that_typing_the_id_works(as_alice, account_values):
    url = reverse("requests:tracking_values", args=["phone"])
    body = as_alice.get(url, {"q": "nothing-like-this"}).content.decode()
    assert "No tracking phone number of the account matches" in body
    assert "type the id" in body


def test_a_bad_target_is_not_echoed_and_an_unknown_kind_is_404(as_alice, account_values):
    url = reverse("requests:tracking_values", args=["url"])
    body = as_alice.get(url, {"target": '"><script>x</script>'}).content.decode()
    assert "<script>x" not in body and 'data-pick-target="id_url_id"' in body
    assert as_alice.get(reverse("requests:tracking_values", args=["code"])).status_code == 404


def test_a_viewer_cannot_search_the_pickers(client, viewer, account_values):
    client.force_login(viewer)
    assert client.get(reverse("requests:tracking_values", args=["url"])).status_code == 403


def test_a_typed_url_id_still_approves(as_alice, live_request, account_values):
    tvr = branded(live_request)
    response = as_alice.post(reverse("requests:approve", args=[tvr.impact_id]), {"url_id": "777"})
    assert response.status_code == 302
    assert Decision.objects.get(request=tvr).sent == {"UrlId": "777"}


def test_a_code_the_account_gave_another_partner_needs_an_explicit_yes(
    as_alice, live_request, account_values
):
    tvr = live_request()  # requests TRAIL20, which Ridge Blog holds (not from any request)
    url = reverse("requests:approve", args=[tvr.impact_id])
    form = {"promo_code": "TRAIL20", "credit_policy": "INVOLVED", "match_mode": "LI"}
    refused = as_alice.post(url, form)
    assert refused.status_code == 400
    assert "already gave this code to another partner: TRAIL20 (Ridge Blog)" in (
        refused.content.decode()
    )
    assert not Decision.objects.filter(request=tvr).exists()
    assert as_alice.post(url, form | {"confirm_taken": "on"}).status_code == 302


def test_an_expression_lists_the_codes_of_other_partners_it_would_match(
    as_alice, live_request, account_values
):
    tvr = live_request()
    url = reverse("requests:approve", args=[tvr.impact_id])
    form = {"promo_code": "FALL[0-9]{2}", "credit_policy": "INVOLVED", "match_mode": "RE"}
    body = as_alice.post(url, form).content.decode()
    assert "also matches codes the account gave other partners" in body
    assert "FALL24 (Peak Podcast), FALL25 (Ridge Blog)" in body
    assert not Decision.objects.filter(request=tvr).exists()
