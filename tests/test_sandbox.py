"""The sandbox answers like impact.com: shapes, paging envelope, auth, errors, state changes."""

from __future__ import annotations

import base64
import random
from datetime import date
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from requests_app import impact
from requests_app.sandbox import api, seed
from requests_app.sandbox.models import SandboxRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(sandbox_sid):
    seed.seed(sandbox_sid, count=120, seed=7, today=date(2026, 11, 24))
    return sandbox_sid


def call(sid, method="GET", tail="", query="", body=b"", token=None, content_type=""):
    from django.conf import settings

    secret = token or settings.IMPACT_SANDBOX_AUTH_TOKEN
    auth = base64.b64encode(f"{sid}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": content_type}
    path = f"/Advertisers/{sid}/TrackingValueRequests{tail}"
    return api.handle(method, path, query, headers, body)


def form(**fields):
    return urlencode(fields).encode()


def first(sid, **filters):
    return SandboxRequest.objects.filter(account_sid=sid, **filters).order_by("impact_id").first()


def test_list_wraps_items_in_impact_paging_envelope_with_string_values(seeded):
    reply = call(seeded, query="PageSize=50&Page=2")
    body = reply.json
    assert reply.status == 200
    assert body["@page"] == "2"
    assert body["@numpages"] == "3"
    assert body["@pagesize"] == "50"
    assert body["@total"] == "120"
    assert body["@nextpageuri"] == (
        f"/Advertisers/{seeded}/TrackingValueRequests?PageSize=50&Page=3"
    )
    assert body["@previouspageuri"].endswith("Page=1")
    assert len(body["TrackingValueRequests"]) == 50
    item = body["TrackingValueRequests"][0]
    assert isinstance(item["Id"], str) and isinstance(item["CampaignId"], str)


def test_last_page_has_empty_next_uri(seeded):
    body = call(seeded, query="PageSize=50&Page=3").json
    assert body["@nextpageuri"] == ""
    assert len(body["TrackingValueRequests"]) == 20


def test_next_uri_keeps_the_filters(seeded):
    body = call(seeded, query="State=NEW&PageSize=5").json
    assert "State=NEW" in body["@nextpageuri"]
    assert all(item["State"] == "NEW" for item in body["TrackingValueRequests"])


@pytest.mark.parametrize(
    ("name", "column"),
    [("CampaignId", "campaign_id"), ("MediaPartnerId", "media_partner_id"), ("DealId", "deal_id")],
)
def test_list_filters_by_each_id(seeded, name, column):
    value = getattr(first(seeded, **{f"{column}__isnull": False}), column)
    body = call(seeded, query=f"{name}={value}&PageSize=500").json
    expected = SandboxRequest.objects.filter(account_sid=seeded, **{column: value}).count()
    assert body["@total"] == str(expected)
    assert {item[name] for item in body["TrackingValueRequests"]} == {str(value)}


def test_list_filters_by_request_type(seeded):
    body = call(seeded, query="RequestType=PHONE_NUMBER_TRACKING&PageSize=500").json
    types = {item["RequestType"] for item in body["TrackingValueRequests"]}
    assert types == {"PHONE_NUMBER_TRACKING"}


def test_json_suffix_on_the_resource_name_is_accepted(seeded):
    reply = call(seeded, tail=".json", query="PageSize=1")
    assert reply.status == 200
    assert len(reply.json["TrackingValueRequests"]) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("CampaignId=abc", "CampaignId"),
        ("State=OPEN", "State"),
        ("RequestType=FAX", "RequestType"),
        ("PageSize=0", "PageSize"),
        ("Page=-1", "Page"),
    ],
)
def test_bad_filters_are_a_400_with_field_errors(seeded, query, field):
    reply = call(seeded, query=query)
    assert reply.status == 400
    assert reply.json["Status"] == "ERROR"
    assert reply.json["Message"] == "Validation Failed"
    assert reply.json["Errors"][0]["Field"] == field


def test_wrong_token_is_401(seeded):
    reply = call(seeded, token="nope")
    assert reply.status == 401
    assert reply.json == {
        "Status": "ERROR",
        "Message": "Authentication failed: check the Account SID and Auth Token",
    }


def test_missing_auth_is_401(seeded):
    reply = api.handle("GET", f"/Advertisers/{seeded}/TrackingValueRequests", "", {}, b"")
    assert reply.status == 401


def test_another_accounts_path_is_403(seeded, settings):
    sid = settings.IMPACT_SANDBOX_ACCOUNT_SID
    auth = base64.b64encode(f"{sid}:{settings.IMPACT_SANDBOX_AUTH_TOKEN}".encode()).decode()
    reply = api.handle(
        "GET", "/Advertisers/IROther/TrackingValueRequests", "", {"Authorization": f"Basic {auth}"}
    )
    assert reply.status == 403


def test_get_one_returns_the_whole_payload(seeded):
    row = first(seeded)
    reply = call(seeded, tail=f"/{row.impact_id}")
    assert reply.status == 200
    assert reply.json == row.payload
    assert len(reply.json) >= 55  # every documented field, deal included


@pytest.mark.parametrize("tail", ["/999999999", "/not-a-number"])
def test_unknown_request_is_404(seeded, tail):
    assert call(seeded, tail=tail).status == 404


def test_approve_promo_code_fills_what_impact_fills(seeded):
    row = first(seeded, state="NEW", request_type="PROMOCODE_TRACKING")
    reply = call(
        seeded,
        "PUT",
        f"/{row.impact_id}",
        body=form(PromoCode="SANDBOX-ONLY-1", CreditPolicy="INVOLVED", MatchMode="LI"),
        content_type="application/x-www-form-urlencoded",
    )
    assert reply.status == 200
    assert reply.json == {"Status": "OK", "Uri": row.payload["Uri"]}
    payload = call(seeded, tail=f"/{row.impact_id}").json
    assert payload["State"] == "APPROVED"
    assert payload["DateCompleted"]
    code = payload["PromoCodes"][0]
    assert (code["ApprovedPromoCode"], code["CreditPolicy"], code["MatchMode"]) == (
        "SANDBOX-ONLY-1",
        "INVOLVED",
        "LI",
    )


def test_approve_branded_url_and_phone_number_fill_their_values(seeded):
    url_row = first(seeded, state="NEW", request_type="BRANDED_URL_TRACKING")
    phone_row = first(seeded, state="NEW", request_type="PHONE_NUMBER_TRACKING")
    assert call(seeded, "PUT", f"/{url_row.impact_id}", body=form(UrlId=7123)).status == 200
    assert (
        call(seeded, "PUT", f"/{phone_row.impact_id}", body=form(AssignedPhoneNumberId=55)).status
        == 200
    )
    url = call(seeded, tail=f"/{url_row.impact_id}").json["UniqueUrls"][0]
    phone = call(seeded, tail=f"/{phone_row.impact_id}").json["PhoneNumbers"][0]
    assert url["UrlId"] == "7123" and url["Url"].startswith("https://")
    assert phone["AssignedPhoneNumberId"] == "55" and phone["AssignedPhoneNumber"]


def test_approve_sets_deal_when_given(seeded):
    row = first(seeded, state="NEW", request_type="BRANDED_URL_TRACKING")
    call(seeded, "PUT", f"/{row.impact_id}", body=form(UrlId=1, DealId=3001, DealName="Spring"))
    payload = call(seeded, tail=f"/{row.impact_id}").json
    assert (payload["DealId"], payload["DealName"]) == ("3001", "Spring")


@pytest.mark.parametrize(
    ("request_type", "fields", "field"),
    [
        ("PROMOCODE_TRACKING", {"CreditPolicy": "ALWAYS", "MatchMode": "LI"}, "PromoCode"),
        ("PROMOCODE_TRACKING", {"PromoCode": "X1", "MatchMode": "LI"}, "CreditPolicy"),
        ("PROMOCODE_TRACKING", {"PromoCode": "X1", "CreditPolicy": "ALWAYS"}, "MatchMode"),
        (
            "PROMOCODE_TRACKING",
            {"PromoCode": "(", "CreditPolicy": "ALWAYS", "MatchMode": "RE"},
            "PromoCode",
        ),
        ("BRANDED_URL_TRACKING", {}, "UrlId"),
        ("BRANDED_URL_TRACKING", {"UrlId": "abc"}, "UrlId"),
        ("PHONE_NUMBER_TRACKING", {"AssignedPhoneNumberId": ""}, "AssignedPhoneNumberId"),
    ],
)
def test_missing_or_bad_type_specific_field_is_400_and_changes_nothing(
    seeded, request_type, fields, field
):
    row = first(seeded, state="NEW", request_type=request_type)
    reply = call(seeded, "PUT", f"/{row.impact_id}", body=form(**fields))
    assert reply.status == 400
    assert reply.json["Errors"][0]["Field"] == field
    row.refresh_from_db()
    assert row.state == "NEW"


def test_a_code_approved_for_one_partner_is_refused_for_another(seeded):
    one = first(seeded, state="NEW", request_type="PROMOCODE_TRACKING")
    other = (
        SandboxRequest.objects.filter(
            account_sid=seeded, state="NEW", request_type="PROMOCODE_TRACKING"
        )
        .exclude(media_partner_id=one.media_partner_id)
        .first()
    )
    fields = {"PromoCode": "ONLYONCE", "CreditPolicy": "WINNER", "MatchMode": "LI"}
    assert call(seeded, "PUT", f"/{one.impact_id}", body=form(**fields)).status == 200
    reply = call(seeded, "PUT", f"/{other.impact_id}", body=form(**fields))
    assert reply.status == 400
    assert "already assigned to another partner" in reply.json["Errors"][0]["Message"]


def test_reject_declines_and_second_action_fails_like_impact(seeded):
    row = first(seeded, state="NEW")
    assert call(seeded, "DELETE", f"/{row.impact_id}").status == 200
    payload = call(seeded, tail=f"/{row.impact_id}").json
    assert payload["State"] == "DECLINED" and payload["DateCompleted"]
    again = call(seeded, "DELETE", f"/{row.impact_id}")
    assert again.status == 400
    assert "already been processed" in again.json["Message"]


def test_approve_accepts_a_json_body_too(seeded):
    row = first(seeded, state="NEW", request_type="BRANDED_URL_TRACKING")
    reply = call(
        seeded, "PUT", f"/{row.impact_id}", body=b'{"UrlId": 9}', content_type="application/json"
    )
    assert reply.status == 200


def test_post_is_405(seeded):
    assert call(seeded, "POST").status == 405


def test_rate_limit_headers_count_down_and_429_past_the_limit(seeded, settings):
    settings.IMPACT_SANDBOX_HOURLY_LIMIT = 3
    remaining = [
        call(seeded, query="PageSize=1").headers["X-RateLimit-Remaining"] for _ in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    over = call(seeded, query="PageSize=1")
    assert over.status == 429
    assert int(over.headers["Retry-After"]) > 0
    assert over.headers["X-RateLimit-Limit"] == "3"


def test_injected_faults_give_5xx_and_429_with_retry_after(seeded, settings, monkeypatch):
    monkeypatch.setattr(api, "rng", random.Random(3))
    settings.IMPACT_SANDBOX_FAIL_RATE = 0.5
    settings.IMPACT_SANDBOX_RATE_LIMIT_RATE = 0.5
    settings.IMPACT_SANDBOX_RETRY_AFTER = 4
    statuses = {call(seeded, query="PageSize=1").status for _ in range(40)}
    assert statuses == {429, 502, 503}
    settings.IMPACT_SANDBOX_FAIL_RATE = 0.0
    settings.IMPACT_SANDBOX_RATE_LIMIT_RATE = 1.0
    reply = call(seeded, query="PageSize=1")
    assert reply.status == 429 and reply.headers["Retry-After"] == "4"


def test_latency_is_injected(seeded, settings):
    settings.IMPACT_SANDBOX_LATENCY_MS = 250
    slept = []
    api.handle("GET", "/nowhere", "", {}, b"", sleep=slept.append)  # 404 before auth: no wait
    call_path = f"/Advertisers/{seeded}/TrackingValueRequests"
    auth = base64.b64encode(f"{seeded}:{settings.IMPACT_SANDBOX_AUTH_TOKEN}".encode()).decode()
    api.handle("GET", call_path, "", {"Authorization": f"Basic {auth}"}, sleep=slept.append)
    assert slept == [0.25]


def test_in_process_client_times_out_when_the_sandbox_is_slower(seeded, settings):
    settings.IMPACT_SANDBOX_LATENCY_MS = 200
    client = impact.get_client()
    client.read_timeout = client.interactive_timeout = 0.05
    client.read_retries = 0
    with pytest.raises(impact.Unavailable):
        client.get_request(first(seeded).impact_id)


def test_seed_is_deterministic_for_a_seed_and_day(sandbox_sid):
    day = date(2026, 11, 24)
    one = seed.Seeder(sandbox_sid, 5, day)
    two = seed.Seeder(sandbox_sid, 5, day)
    assert [one.request(i) for i in range(10)] == [two.request(i) for i in range(10)]
    assert seed.Seeder(sandbox_sid, 6, day).request(1) != seed.Seeder(sandbox_sid, 5, day).request(
        1
    )


def test_seed_covers_every_state_type_and_deal_shape(sandbox_sid):
    seed.seed(sandbox_sid, count=1500, seed=1, today=date(2026, 11, 24))
    items = [
        impact.TrackingValueRequest.parse(p)
        for p in SandboxRequest.objects.values_list("payload", flat=True)
    ]
    assert {i.state for i in items} == {"NEW", "APPROVED", "COMPLETED", "DECLINED"}
    assert {i.request_type for i in items} == set(api.REQUEST_TYPES)
    deals = [i.deal for i in items if i.deal]
    assert len(deals) < len(items)  # some requests have no deal
    assert {d.type for d in deals} == {
        "GENERAL_SALE",
        "FREE_SHIPPING",
        "GIFT_WITH_PURCHASE",
        "REBATE",
        "BOGO",
    }
    assert {d.discount_type for d in deals} >= {
        "FIXED",
        "PERCENT",
        "PERCENT_RANGE",
        "PERCENT_MAXIMUM",
    }
    assert {d.scope for d in deals} >= {"ENTIRE_STORE", "CATEGORY", "PRODUCT"}
    assert {d.state for d in deals} == {"ACTIVE", "EXPIRED", "PENDING"}
    assert {d.bogo_get_discount_type for d in deals if d.type == "BOGO"} == {
        "FREE",
        "AMOUNT",
        "PERCENT",
    }
    assert any(d.products for d in deals) and any(d.restricted_partners for d in deals)
    assert any("<script>" in (i.additional_instructions or "") for i in items)
    assert any("<" in i.media_partner_name for i in items)
    open_needed = [i.date_needed.date() for i in items if i.state == "NEW"]
    assert min(open_needed) < date(2026, 11, 24) < max(open_needed)


def test_seed_command_if_empty_leaves_existing_data(sandbox_sid, capsys):
    call_command("seed_sandbox", count=5)
    call_command("seed_sandbox", count=5, if_empty=True)
    assert SandboxRequest.objects.count() == 5
    call_command("seed_sandbox", count=3, reset=True)
    assert SandboxRequest.objects.count() == 3
    assert "left as is" in capsys.readouterr().out


def test_sandbox_is_mounted_in_the_dashboard_for_curl(client, seeded, settings):
    auth = base64.b64encode(f"{seeded}:{settings.IMPACT_SANDBOX_AUTH_TOKEN}".encode()).decode()
    response = client.get(
        f"/Advertisers/{seeded}/TrackingValueRequests",
        {"State": "NEW", "PageSize": 5},
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )
    assert response.status_code == 200
    assert len(response.json()["TrackingValueRequests"]) == 5
