"""The sandbox's account resources answer as impact.com does: CompanyInformation (with and
without `.json`), the UniqueUrls, PhoneNumbers and PromoCodes lists in the paging envelope,
each listing what approvals assigned; auth as for every other resource."""

from __future__ import annotations

import base64
from datetime import date
from urllib.parse import urlencode

import pytest

from requests_app import impact
from requests_app.sandbox import api, seed, values
from requests_app.sandbox.models import SandboxRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(sandbox_sid):
    seed.seed(sandbox_sid, count=120, seed=7, today=date(2026, 11, 24))
    return sandbox_sid


def get(sid, tail, query="", token=None, method="GET", body=b""):
    from django.conf import settings

    secret = token or settings.IMPACT_SANDBOX_AUTH_TOKEN
    auth = base64.b64encode(f"{sid}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}"}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return api.handle(method, f"/Advertisers/{sid}/{tail}", query, headers, body)


@pytest.mark.parametrize("tail", ["CompanyInformation", "CompanyInformation.json"])
def test_company_information_answers_with_impact_coms_fields(seeded, tail):
    reply = get(seeded, tail)
    assert reply.status == 200
    body = reply.json
    assert body["CompanyName"] and body["Website"].startswith("https://")
    assert (body["Timezone"], body["Currency"]) == ("America/Los_Angeles", "USD")
    assert body["CorporateAddress"]["City"] and body["Industry"]["IndustryName"]
    assert body["Uri"] == f"/Advertisers/{seeded}/CompanyInformation"


def test_company_information_refuses_a_wrong_token_and_a_write(seeded):
    assert get(seeded, "CompanyInformation", token="wrong").status == 401
    assert get(seeded, "CompanyInformation", method="PUT").status == 405


@pytest.mark.parametrize(
    ("tail", "key"),
    [
        ("UniqueUrls", "UniqueUrls"),
        ("PhoneNumbers.json", "PhoneNumbers"),
        ("PromoCodes", "PromoCodes"),
    ],
)
def test_tracking_value_lists_page_in_the_envelope(seeded, tail, key):
    reply = get(seeded, tail, "PageSize=5")
    body = reply.json
    assert reply.status == 200
    assert body["@page"] == "1" and body["@pagesize"] == "5"
    assert len(body[key]) == 5 and int(body["@total"]) > 5
    assert body["@nextpageuri"].endswith("Page=2")
    assert all(isinstance(r["Id"], str) and r["Uri"].endswith(r["Id"]) for r in body[key])


def test_the_pool_offers_available_urls_and_lists_assigned_ones_in_use(seeded):
    urls = get(seeded, "UniqueUrls", "PageSize=1000").json["UniqueUrls"]
    states = {r["State"] for r in urls}
    assert states == {"AVAILABLE", "INUSE"}
    in_use = [r for r in urls if r["State"] == "INUSE"]
    assert all(r["MediaPartnerName"] for r in in_use)


def test_an_approved_phone_number_shows_up_in_use_for_that_partner(seeded):
    row = SandboxRequest.objects.filter(
        account_sid=seeded, request_type="PHONE_NUMBER_TRACKING", state="NEW"
    ).first()
    put = get(
        seeded,
        f"TrackingValueRequests/{row.impact_id}",
        method="PUT",
        body=urlencode({"AssignedPhoneNumberId": "440003"}).encode(),
    )
    assert put.status == 200
    (number,) = [r for r in values.phone_numbers(seeded) if r["Id"] == "440003"]
    assert number["State"] == "INUSE"
    assert number["MediaPartnerId"] == str(row.media_partner_id)
    assert number["Number"] == values.phone_number_for(440003)


def test_promo_codes_hold_every_approved_code_and_a_regular_expression(seeded):
    codes = get(seeded, "PromoCodes", "PageSize=1000").json["PromoCodes"]
    approved = set(
        SandboxRequest.objects.filter(account_sid=seeded, request_type="PROMOCODE_TRACKING")
        .exclude(approved_code="")
        .values_list("approved_code", flat=True)
    )
    assert approved and approved <= {c["Code"].upper() for c in codes}
    assert any(c["Type"] == "RE" for c in codes)
    assert all(c["AssignedPartnerId"] and c["AssignedPartnerName"] for c in codes)


def test_promo_codes_filter_by_code(seeded):
    body = get(seeded, "PromoCodes", "Code=trail10").json
    assert [c["Code"] for c in body["PromoCodes"]] == ["TRAIL10"]


def test_one_tracking_value_by_id_and_an_unknown_one(seeded):
    assert get(seeded, "UniqueUrls/880001").json["Url"].endswith("/880001")
    assert get(seeded, "UniqueUrls/1").status == 404


def test_the_client_reads_the_sandbox_lists_and_company(seeded, settings):
    client = impact.get_client(seeded)
    assert client.company_information().company_name.startswith("Acme Outdoor")
    urls = list(client.list_tracking_values("url"))
    assert len(urls) >= len(values.URL_POOL)
    assert {u.kind for u in urls} == {"url"}
