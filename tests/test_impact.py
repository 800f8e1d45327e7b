"""impact.py against canned impact.com answers (the `responses` library): every endpoint,
every error class, pagination, retries, Retry-After, and the exact body sent per type."""

from __future__ import annotations

import base64
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import requests
import responses

from requests_app import impact

from .conftest import wire_request

BASE = "https://api.impact.test"
SID = "IRtest"
TOKEN = "tok-secret-123"
LIST = f"{BASE}/Advertisers/{SID}/TrackingValueRequests"


@pytest.fixture
def client():
    slept: list[float] = []
    c = impact.ImpactClient(
        base_url=BASE, account_sid=SID, auth_token=TOKEN, sleep=slept.append, page_size=2
    )
    c.slept = slept
    return c


def page(items, number, pages, next_uri=""):
    return {
        "@page": str(number),
        "@numpages": str(pages),
        "@pagesize": "2",
        "@total": str(pages * 2),
        "@nextpageuri": next_uri,
        "TrackingValueRequests": items,
    }


@responses.activate
def test_list_sends_every_filter_auth_accept_and_user_agent(client):
    responses.get(LIST, json=page([wire_request()], 1, 1))
    items = list(
        client.list_requests(
            campaign_id=1000,
            deal_id=3,
            media_partner_id=77,
            state="NEW",
            request_type="PROMOCODE_TRACKING",
        )
    )
    assert len(items) == 1
    sent = responses.calls[0].request
    query = parse_qs(sent.url.split("?", 1)[1])
    assert {k: v[0] for k, v in query.items()} == {
        "CampaignId": "1000",
        "DealId": "3",
        "MediaPartnerId": "77",
        "State": "NEW",
        "RequestType": "PROMOCODE_TRACKING",
        "Page": "1",
        "PageSize": "2",
    }
    assert (
        sent.headers["Authorization"]
        == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"].startswith("TVR-Dashboard/")


@responses.activate
def test_pagination_follows_relative_next_uris_lazily_to_the_last_page(client):
    for n in range(1, 8):
        nxt = f"/Advertisers/{SID}/TrackingValueRequests?PageSize=2&Page={n + 1}" if n < 7 else ""
        url = LIST if n == 1 else f"{LIST}?PageSize=2&Page={n}"
        responses.get(
            url,
            json=page([wire_request(), wire_request()], n, 7, nxt),
            match=[responses.matchers.query_param_matcher({"Page": str(n), "PageSize": "2"})]
            if n > 1
            else [],
        )
    pages = client.iter_pages()
    first = next(pages)
    assert first.page == 1 and len(responses.calls) == 1  # page 2 not fetched yet
    rest = list(pages)
    assert [p.page for p in rest] == [2, 3, 4, 5, 6, 7]
    assert len(responses.calls) == 7


@responses.activate
def test_missing_next_uri_falls_back_to_page_numbers_and_loops_are_cut(client):
    responses.get(
        LIST,
        json=page([wire_request()], 1, 2),
        match=[responses.matchers.query_param_matcher({"Page": "1", "PageSize": "2"})],
    )
    responses.get(
        LIST,
        json=page([wire_request()], 2, 2),
        match=[responses.matchers.query_param_matcher({"Page": "2", "PageSize": "2"})],
    )
    assert len(list(client.list_requests())) == 2
    responses.reset()
    loop = f"/Advertisers/{SID}/TrackingValueRequests?Page=1"
    responses.get(LIST, json=page([wire_request()], 1, 9, loop))
    assert len(list(client.iter_pages())) <= 3


@responses.activate
def test_a_list_that_always_announces_one_more_page_is_cut_at_max_pages(client, monkeypatch):
    monkeypatch.setattr(impact, "MAX_PAGES", 4)
    endless = [
        {
            "json": page(
                [wire_request()],
                number,
                number + 1,
                f"/Advertisers/{SID}/TrackingValueRequests?Page={number + 1}",
            )
        }
        for number in range(1, 10)
    ]
    for answer in endless:
        responses.get(LIST, **answer)
    with pytest.raises(impact.Unavailable, match="past 4 pages"):
        list(client.iter_pages())
    assert len(responses.calls) == 4


@responses.activate
def test_parsing_numbers_as_strings_money_dates_nulls_and_unknown_fields(client):
    raw = wire_request(
        Id="42",
        CampaignId="1000",
        NumberRequested="3",
        DealId="7",
        DealName="Sale",
        DealType="REBATE",
        RebateAmount="25.10",
        RebateCurrency="USD",
        DateCompleted="",
        ProcessingComments=None,
        BrandNewField={"x": 1},
    )
    responses.get(f"{LIST}/42", json=raw)
    item = client.get_request("42")
    assert (item.id, item.campaign_id, item.number_requested) == ("42", 1000, 3)
    assert item.deal.rebate == impact.Money(Decimal("25.10"), "USD")
    assert item.date_placed.tzinfo is not None and item.date_completed is None
    assert item.extra["BrandNewField"] == {"x": 1}
    assert item.promo_codes[0].requested_code == "TRAIL20"


@responses.activate
def test_request_without_a_deal_has_none():
    c = impact.ImpactClient(base_url=BASE, account_sid=SID, auth_token=TOKEN)
    responses.get(f"{LIST}/5", json=wire_request(Id="5", DealId=None))
    assert c.get_request("5").deal is None


@pytest.mark.parametrize(
    ("approval", "body"),
    [
        (
            impact.Approval(
                "PROMOCODE_TRACKING", promo_code="SAVE10", credit_policy="WINNER", match_mode="LI"
            ),
            {"PromoCode": "SAVE10", "CreditPolicy": "WINNER", "MatchMode": "LI"},
        ),
        (
            impact.Approval("BRANDED_URL_TRACKING", url_id=812, deal_id=3, deal_name="Spring"),
            {"UrlId": "812", "DealId": "3", "DealName": "Spring"},
        ),
        (
            impact.Approval("PHONE_NUMBER_TRACKING", assigned_phone_number_id=77),
            {"AssignedPhoneNumberId": "77"},
        ),
    ],
)
@responses.activate
def test_approve_sends_form_encoded_type_specific_fields(client, approval, body):
    responses.put(
        f"{LIST}/9", json={"Status": "OK", "Uri": f"/Advertisers/{SID}/TrackingValueRequests/9"}
    )
    client.approve("9", approval)
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert {k: v[0] for k, v in parse_qs(sent.body).items()} == body


@pytest.mark.parametrize(
    "approval",
    [
        impact.Approval("PROMOCODE_TRACKING", credit_policy="WINNER", match_mode="LI"),
        impact.Approval(
            "PROMOCODE_TRACKING", promo_code="X", credit_policy="NEVER", match_mode="LI"
        ),
        impact.Approval("BRANDED_URL_TRACKING"),
        impact.Approval("PHONE_NUMBER_TRACKING", assigned_phone_number_id=0),
    ],
)
@responses.activate
def test_invalid_approval_is_refused_before_any_call(client, approval):
    with pytest.raises(impact.InvalidApproval):
        client.approve("9", approval)
    assert len(responses.calls) == 0


@responses.activate
def test_reject_is_a_delete_without_body(client):
    responses.delete(f"{LIST}/9", json={"Status": "OK"})
    client.reject("9")
    assert responses.calls[0].request.method == "DELETE" and not responses.calls[0].request.body


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"Status": "ERROR", "Message": "Unauthorized"}, impact.AuthenticationFailed),
        (403, {"Status": "ERROR", "Message": "Token not allowed"}, impact.AuthenticationFailed),
        (404, {"Status": "ERROR", "Message": "Not found"}, impact.NotFound),
        (
            400,
            {
                "Status": "ERROR",
                "Message": "Validation Failed",
                "Errors": [{"Field": "PromoCode", "Message": "Already used"}],
            },
            impact.Rejected,
        ),
        (500, {"Status": "ERROR", "Message": "Boom"}, impact.Unavailable),
        (502, "<html>Bad gateway</html>", impact.Unavailable),
    ],
)
@responses.activate
def test_each_status_maps_to_its_error_and_never_leaks_the_token(client, status, body, error):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    responses.get(f"{LIST}/1", status=status, **kwargs)
    responses.delete(f"{LIST}/1", status=status, **kwargs)
    client.read_retries = 0
    with pytest.raises(error) as caught:
        client.get_request("1")
    with pytest.raises(error) as caught_write:
        client.reject("1")
    for exc in (caught.value, caught_write.value):
        assert TOKEN not in str(exc) and TOKEN not in repr(exc)
    if error is impact.Rejected:
        assert "Already used" in caught.value.detail


@responses.activate
def test_non_json_200_is_unavailable(client):
    responses.get(f"{LIST}/1", body="<html>maintenance</html>", status=200)
    client.read_retries = 0
    with pytest.raises(impact.Unavailable, match="not JSON"):
        client.get_request("1")


@responses.activate
@pytest.mark.parametrize("declared", [True, False])
def test_a_runaway_answer_is_refused_not_loaded(client, declared):
    huge = page([wire_request() for _ in range(40)], 1, 1)
    responses.get(LIST, json=huge, auto_calculate_content_length=declared)
    client.read_retries = 0
    client.max_body_bytes = 10_000
    with pytest.raises(impact.Unavailable, match="larger than") as caught:
        list(client.list_requests())
    assert caught.value.status == 200


@responses.activate
def test_an_answer_within_the_limit_is_read_whole(client):
    responses.get(LIST, json=page([wire_request() for _ in range(2)], 1, 1))
    client.max_body_bytes = 100_000
    assert len(list(client.list_requests())) == 2


@responses.activate
def test_reads_retry_429_and_5xx_honouring_retry_after(client):
    responses.get(f"{LIST}/1", status=429, headers={"Retry-After": "3"}, json={})
    responses.get(f"{LIST}/1", status=503, json={})
    responses.get(f"{LIST}/1", json=wire_request(Id="1"))
    assert client.get_request("1").id == "1"
    assert len(responses.calls) == 3 and client.slept[0] == 3


@responses.activate
def test_rate_limited_after_retries_carries_the_wait(client):
    responses.get(f"{LIST}/1", status=429, headers={"Retry-After": "7"}, json={})
    client.read_retries = 1
    with pytest.raises(impact.RateLimited) as caught:
        client.get_request("1")
    assert caught.value.retry_after == 7


@responses.activate
def test_a_5xx_or_timeout_on_approve_is_never_retried(client):
    responses.put(f"{LIST}/9", status=503, json={})
    with pytest.raises(impact.Unavailable) as caught:
        client.approve("9", impact.Approval("BRANDED_URL_TRACKING", url_id=1))
    assert len(responses.calls) == 1 and caught.value.maybe_sent
    responses.reset()
    responses.delete(f"{LIST}/9", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(impact.Unavailable):
        client.reject("9")
    assert len(responses.calls) == 1


@responses.activate
def test_a_write_that_never_connected_is_retried(client):
    responses.delete(f"{LIST}/9", body=requests.exceptions.ConnectTimeout("no route"))
    responses.delete(f"{LIST}/9", json={"Status": "OK"})
    client.reject("9")
    assert len(responses.calls) == 2


def test_missing_credentials_are_not_configured():
    with pytest.raises(impact.NotConfigured):
        impact.ImpactClient(base_url=BASE, account_sid=SID, auth_token="")


@pytest.mark.django_db  # an account added in the app would have its own credentials
def test_real_credentials_switch_to_the_real_api(settings):
    settings.IMPACT_ACCOUNT_SID, settings.IMPACT_AUTH_TOKEN = "IRreal", "real-token"
    client = impact.get_client()
    assert client.base_url == "https://api.impact.com" and client.account_sid == "IRreal"
    assert "real-token" not in repr(client)


@responses.activate
@pytest.mark.parametrize(
    "answer",
    [
        {"body": "<html>proxy welcome page</html>", "status": 200},
        {"body": '{"Status": "OK", "Uri": "/x', "status": 200},  # truncated
        {"json": {"Status": "ERROR"}, "status": 200},  # not the documented confirmation
        {"body": requests.exceptions.ConnectionError("reset by peer")},
        {"body": requests.exceptions.ChunkedEncodingError("cut short")},
    ],
)
def test_a_write_whose_answer_is_unclear_is_outcome_unknown_and_sent_once(client, answer):
    responses.put(f"{LIST}/9", **answer)
    responses.put(f"{LIST}/9", json={"Status": "OK", "Uri": "/9"})
    with pytest.raises(impact.OutcomeUnknown):
        client.approve("9", impact.Approval("BRANDED_URL_TRACKING", url_id=1))
    assert len(responses.calls) == 1


@responses.activate
def test_a_queued_answer_is_accepted_pending(client):
    responses.delete(f"{LIST}/9", json={"Status": "QUEUED", "QueuedUri": "/Queue/77"})
    assert client.reject("9") == impact.WriteResult(uri="/Queue/77", queued=True)
    responses.delete(f"{LIST}/8", json={"Status": "OK", "Uri": f"/Advertisers/{SID}/x/8"})
    assert client.reject("8") == impact.WriteResult(uri=f"/Advertisers/{SID}/x/8")


@responses.activate
def test_the_token_is_cut_from_answers_in_every_encoding(client):
    from urllib.parse import quote

    basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    echoed = f"Basic {basic} / {TOKEN} / {quote(TOKEN)} / {basic.replace('/', chr(92) + '/')}"
    responses.get(f"{LIST}/1", json=wire_request(Id="1", AdditionalInstructions=echoed))
    responses.put(f"{LIST}/1", status=400, json={"Message": echoed, "Errors": [{"Message": basic}]})

    item = client.get_request("1")
    with pytest.raises(impact.Rejected) as refused:
        client.approve("1", impact.Approval("BRANDED_URL_TRACKING", url_id=1))

    for text in (item.additional_instructions, refused.value.detail):
        assert TOKEN not in text and basic not in text
        assert "[hidden]" in text


@responses.activate
@pytest.mark.parametrize(
    "link",
    [
        "https://evil.test/Advertisers/IRtest/TrackingValueRequests?Page=2",
        "//evil.test/Advertisers/IRtest/TrackingValueRequests?Page=2",
        "http://api.impact.test/Advertisers/IRtest/TrackingValueRequests?Page=2",  # scheme
        "https://api.impact.test:8443/Advertisers/IRtest/TrackingValueRequests?Page=2",  # port
    ],
)
def test_a_next_page_link_off_the_configured_base_is_never_followed(client, link):
    responses.get(LIST, json=page([wire_request()], 1, 2, next_uri=link))
    with pytest.raises(impact.UnsafeNextPage, match="another server"):
        list(client.iter_pages())
    assert len(responses.calls) == 1


@responses.activate
def test_an_absolute_next_page_link_on_the_same_base_is_followed(client):
    responses.get(LIST, json=page([wire_request()], 1, 2, next_uri=f"{LIST}?Page=2"))
    responses.get(LIST, json=page([wire_request()], 2, 2))
    assert len(list(client.iter_pages())) == 2
