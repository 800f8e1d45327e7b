"""impact.py's account calls against canned answers: CompanyInformation, the account's unique
URLs, phone numbers and promo codes (paging, field names, garbage), the pinned IR-Version, and
the URL id read from `UrlId` or `Id`."""

from __future__ import annotations

import pytest
import requests
import responses

from requests_app import impact

from .conftest import wire_request

BASE = "https://api.impact.test"
SID = "IRtest"
TOKEN = "tok-secret-123"
ACCOUNT = f"{BASE}/Advertisers/{SID}"

COMPANY = {
    "CompanyName": "Acme Outdoor Co.",
    "Website": "https://www.acme-outdoor.example",
    "PrimaryPhoneNumber": "+1 805 555 0100",
    "PrimaryPhoneNumberCountry": "US",
    "Timezone": "America/Los_Angeles",
    "Currency": "usd",
    "OrganizationType": "CORP",
    "Uri": f"/Advertisers/{SID}/CompanyInformation",
}


@pytest.fixture
def client():
    return impact.ImpactClient(
        base_url=BASE, account_sid=SID, auth_token=TOKEN, sleep=lambda s: None, page_size=2
    )


@responses.activate
def test_company_information_is_typed_and_every_call_pins_the_api_version(client):
    responses.get(f"{ACCOUNT}/CompanyInformation", json=COMPANY)
    info = client.company_information()
    assert info.company_name == "Acme Outdoor Co."
    assert (info.website, info.timezone, info.currency) == (
        "https://www.acme-outdoor.example",
        "America/Los_Angeles",
        "USD",
    )
    sent = responses.calls[0].request
    assert sent.headers["IR-Version"] == "14"
    assert sent.headers["Accept"] == "application/json"


@responses.activate
def test_company_information_with_a_wrong_token_is_authentication_failed(client):
    responses.get(f"{ACCOUNT}/CompanyInformation", status=401, json={"Message": "Bad token"})
    with pytest.raises(impact.AuthenticationFailed):
        client.company_information()


@pytest.mark.parametrize("body", [{"Status": "OK"}, [], {"CompanyName": ""}])
@responses.activate
def test_company_information_without_a_name_is_unavailable(client, body):
    responses.get(f"{ACCOUNT}/CompanyInformation", json=body)
    with pytest.raises(impact.Unavailable):
        client.company_information()


@responses.activate
def test_company_information_that_hangs_is_unavailable_within_the_deadline(client):
    responses.get(f"{ACCOUNT}/CompanyInformation", body=requests.exceptions.ReadTimeout())
    with pytest.raises(impact.Unavailable, match="did not answer"):
        client.company_information(deadline=impact.Deadline(1))


@responses.activate
def test_unique_urls_follow_next_page_links_and_skip_records_without_an_id(client):
    first = {
        "@nextpageuri": f"/Advertisers/{SID}/UniqueUrls?Page=2&PageSize=2",
        "UniqueUrls": [
            {"Id": "880044", "Url": "https://go.acme.example/a", "State": "available"},
            {"Url": "https://go.acme.example/no-id"},
        ],
    }
    second = {
        "@nextpageuri": "",
        "UniqueUrls": [
            {
                "Id": 880045,
                "Url": "https://go.acme.example/b",
                "State": "INUSE",
                "MediaPartnerId": "77",
                "MediaPartnerName": "Coupon Co",
            }
        ],
    }
    responses.get(f"{ACCOUNT}/UniqueUrls", json=first, match=[_query(Page="1")])
    responses.get(f"{ACCOUNT}/UniqueUrls", json=second, match=[_query(Page="2")])
    urls = list(client.list_tracking_values("url"))
    assert [(u.id, u.value, u.state, u.partner_id) for u in urls] == [
        ("880044", "https://go.acme.example/a", "AVAILABLE", None),
        ("880045", "https://go.acme.example/b", "INUSE", 77),
    ]


@responses.activate
def test_promo_codes_read_impact_coms_type_as_the_match_mode(client):
    responses.get(
        f"{ACCOUNT}/PromoCodes",
        json={
            "PromoCodes": [
                {
                    "Id": "7777777",
                    "Code": "SUMMER25",
                    "Type": "RE",
                    "CreditPolicy": "always",
                    "AssignedPartnerId": "10000",
                    "AssignedPartnerName": "Acme Partner",
                    "State": "ACTIVE",
                }
            ]
        },
    )
    (code,) = client.list_tracking_values("code")
    assert (code.value, code.match_mode, code.credit_policy, code.partner_name) == (
        "SUMMER25",
        "RE",
        "ALWAYS",
        "Acme Partner",
    )


@responses.activate
def test_phone_numbers_list_without_its_array_is_unavailable(client):
    responses.get(f"{ACCOUNT}/PhoneNumbers", body="<html>502</html>", status=200)
    with pytest.raises(impact.Unavailable):
        list(client.list_tracking_values("phone"))


@responses.activate
def test_a_next_page_link_to_another_host_is_not_followed(client):
    responses.get(
        f"{ACCOUNT}/PhoneNumbers",
        json={"@nextpageuri": "https://evil.example/steal", "PhoneNumbers": []},
    )
    with pytest.raises(impact.UnsafeNextPage):
        list(client.list_tracking_values("phone"))
    assert len(responses.calls) == 1


def test_an_approved_url_named_id_is_read_as_its_url_id():
    raw = wire_request(
        RequestType="BRANDED_URL_TRACKING",
        State="APPROVED",
        PromoCodes=[],
        UniqueUrls=[{"Id": "880044", "Url": "https://go.acme.example/r/880044"}],
    )
    (url,) = impact.TrackingValueRequest.parse(raw).unique_urls
    assert url.url_id == 880044


def test_an_open_requests_entry_id_is_not_a_url_id():
    raw = wire_request(
        RequestType="BRANDED_URL_TRACKING",
        State="NEW",
        PromoCodes=[],
        UniqueUrls=[{"Id": "12341", "Url": "https://www.acme.example/p/tents"}],
    )
    (url,) = impact.TrackingValueRequest.parse(raw).unique_urls
    assert url.url_id is None


def test_url_id_wins_over_id_when_both_are_sent():
    raw = wire_request(
        RequestType="BRANDED_URL_TRACKING",
        State="APPROVED",
        PromoCodes=[],
        UniqueUrls=[{"Id": "1", "UrlId": "70001", "Url": "https://go.acme.example/r/70001"}],
    )
    assert impact.TrackingValueRequest.parse(raw).unique_urls[0].url_id == 70001


@pytest.mark.parametrize("requested", ["RequestedPromoCode", "RequestedCode"])
@pytest.mark.parametrize("approved", ["ApprovedPromoCode", "ApprovedCode"])
def test_both_promo_code_spellings_are_read(requested, approved):
    raw = wire_request(PromoCodes=[{"Id": "1", requested: "SAVE10", approved: "SAVE10X"}])
    (code,) = impact.TrackingValueRequest.parse(raw).promo_codes
    assert (code.requested_code, code.approved_code) == ("SAVE10", "SAVE10X")


def _query(**expected):
    return responses.matchers.query_param_matcher(expected, strict_match=False)
