"""Unhappy paths of the account's tracking values: impact.com (over real HTTP, through
tests/impact_server.py) answering garbage, hanging or refusing while they are read, and hostile
input in the pickers' search, the promo-code checks and the sandbox's lists. A failed read
keeps the cached lists; the token reaches no page, message or log in any encoding."""

from __future__ import annotations

import base64
import logging
import time

import pytest
from django.urls import reverse

from requests_app import patterns, tracking_values
from requests_app.models import Account, TrackingValue
from requests_app.sandbox import api, seed
from tests.fakes import FakeImpact
from tests.impact_server import ImpactServer

pytestmark = pytest.mark.django_db

SID = "IRfaults1"
TOKEN = "tv-secret-token-42/+="
URLS = [{"Id": "880001", "Url": "https://go.example/r/1", "State": "AVAILABLE"}]


def envelope(key, records, next_uri=""):
    return {"@page": "1", "@numpages": "1", "@nextpageuri": next_uri, key: records}


def escaped(text: str) -> bytes:
    """The text as JSON \\u escapes: what a byte-level search for it cannot see."""
    return "".join(f"\\u{ord(c):04x}" for c in text).encode()


@pytest.fixture
def server(settings):
    running = ImpactServer(SID, TOKEN, hang_seconds=2.0).start()
    settings.IMPACT_ACCOUNT_SID = SID
    settings.IMPACT_AUTH_TOKEN = TOKEN
    settings.IMPACT_API_BASE_URL = running.url
    settings.IMPACT_READ_TIMEOUT = 0.5
    settings.IMPACT_READ_RETRIES = 0
    running.account = {
        "CompanyInformation": [{"CompanyName": "Faulty Outdoor Co."}],
        "UniqueUrls": [envelope("UniqueUrls", URLS)],
        "PhoneNumbers": [envelope("PhoneNumbers", [])],
        "PromoCodes": [envelope("PromoCodes", [])],
    }
    yield running
    running.stop()


def refresh():
    return tracking_values.refresh(SID, force=True)


# --- impact.com answering garbage ------------------------------------------------------------


def test_nul_characters_and_lone_surrogates_in_listed_values_are_dropped_not_a_crash(server):
    server.account["UniqueUrls"] = [
        envelope(
            "UniqueUrls",
            [
                {"Id": "880002", "Url": "https://go.example/r/\u0000two", "State": "AVAILABLE"},
                {
                    "Id": "880003",
                    "Url": "https://go.example/r/\ud800",
                    "MediaPartnerName": "\u0000",
                },
            ],
        )
    ]
    result = refresh()
    assert result.error == ""
    stored = dict(TrackingValue.objects.values_list("impact_id", "value"))
    assert stored == {"880002": "https://go.example/r/two", "880003": "https://go.example/r/?"}


def test_ids_past_64_bits_are_skipped_and_partner_or_campaign_ids_past_them_dropped(server):
    server.account["UniqueUrls"] = [
        envelope(
            "UniqueUrls",
            [
                *URLS,
                {"Id": "9" * 40, "Url": "https://go.example/r/huge"},
                {"Id": "880004", "Url": "u", "CampaignId": str(10**20)},
                {"Id": "880005", "Url": "u", "MediaPartnerId": str(-(10**20))},
            ],
        )
    ]
    result = refresh()
    assert result.error == "" and result.counts["url"] == 3
    assert set(TrackingValue.objects.values_list("impact_id", flat=True)) == {
        "880001",
        "880004",
        "880005",
    }
    assert not TrackingValue.objects.filter(campaign_id__isnull=False).exists()
    assert not TrackingValue.objects.filter(partner_id__isnull=False).exists()


def test_a_nul_in_the_company_name_does_not_stop_the_refresh(server):
    server.account["CompanyInformation"] = [{"CompanyName": "Acme\u0000 Co."}]
    assert refresh().error == ""
    assert Account.objects.get(sid=SID).name == "Acme Co."


def test_a_company_name_that_is_not_text_is_refused_and_the_old_name_kept(server):
    assert refresh().error == ""
    server.account["CompanyInformation"] = [{"CompanyName": {"Name": "x"}}]
    assert "no CompanyName" in refresh().error
    assert Account.objects.get(sid=SID).name == "Faulty Outdoor Co."


def test_a_listed_value_that_is_not_text_is_stored_empty_not_as_python_repr(server):
    record = {"Id": "880008", "Url": ["https://a.example"], "MediaPartnerName": {"a": 1}}
    server.account["UniqueUrls"] = [envelope("UniqueUrls", [record])]
    assert refresh().error == ""
    stored = TrackingValue.objects.get(impact_id="880008")
    assert (stored.value, stored.partner_name) == ("", "")


@pytest.mark.parametrize(
    "answer",
    [
        b"<html><body>Welcome to our proxy</body></html>",
        b'{"@page": "1", "UniqueUrls": [{"Id": "880009"',
        {"UniqueUrls": {"Id": "880009"}},
        [],
        (401, {"Message": "Unauthorized"}),
        (403, b"<html>Forbidden</html>"),
        (429, {"Message": "Too many requests"}),
        (502, b"<html>502 Bad Gateway</html>"),
        envelope("UniqueUrls", [{"Id": "880009"}], "http://127.0.0.2:9/steal?Page=2"),
    ],
    ids=["html", "truncated", "shape", "list", "401", "403", "429", "502", "other-host"],
)
def test_a_garbled_or_refused_read_keeps_the_cached_list_and_says_why(server, answer):
    assert refresh().error == ""
    server.account["UniqueUrls"] = [answer]
    result = refresh()
    assert result.error
    assert list(TrackingValue.objects.values_list("impact_id", "is_gone")) == [("880001", False)]


def test_a_hanging_read_ends_within_the_timeout_and_keeps_the_cached_list(server):
    assert refresh().error == ""
    server.fail_next("GET", "", "hang")  # CompanyInformation answers, UniqueUrls hangs
    started = time.monotonic()
    result = refresh()
    assert time.monotonic() - started < 1.5
    assert "did not answer" in result.error
    assert TrackingValue.objects.get(impact_id="880001").is_gone is False


# --- the token, in any encoding ---------------------------------------------------------------


def test_the_token_json_escaped_in_the_company_name_never_reaches_a_page(server, client, alice):
    body = b'{"CompanyName": "Acme ' + escaped(TOKEN) + b'"}'
    server.account["CompanyInformation"] = [body]
    assert refresh().error == ""
    assert TOKEN not in Account.objects.get(sid=SID).name
    client.force_login(alice)
    page = client.get(reverse("requests:list")).content.decode()
    assert "Acme [hidden]" in page and TOKEN not in page


def test_the_token_json_escaped_in_a_listed_value_is_hidden(server):
    record = b'{"Id": "880007", "Url": "u", "MediaPartnerName": "' + escaped(TOKEN) + b'"}'
    server.account["UniqueUrls"] = [b'{"UniqueUrls": [' + record + b"]}"]
    assert refresh().error == ""
    assert TrackingValue.objects.get(impact_id="880007").partner_name == "[hidden]"


def test_the_token_json_escaped_in_an_error_message_is_hidden_in_the_result_and_log(server, caplog):
    basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    message = b'{"Message": "Denied ' + escaped(TOKEN) + b" " + escaped(basic) + b'"}'
    server.account["CompanyInformation"] = [(400, message)]
    with caplog.at_level(logging.INFO):
        result = refresh()
    assert result.error == "Denied [hidden] [hidden]"
    assert TOKEN not in caplog.text and basic not in caplog.text


# --- hostile input ----------------------------------------------------------------------------


@pytest.fixture
def cached(sandbox_sid):
    fake = FakeImpact([])
    fake.tracking_values = {
        "url": [{"Id": "880001", "Url": "https://go.acme.example/r/tents", "State": "AVAILABLE"}],
        "code": [
            {"Id": "1", "Code": "straße", "Type": "LI", "AssignedPartnerId": "99",
             "AssignedPartnerName": "Peak Podcast", "State": "ACTIVE"},
        ],
    }  # fmt: skip
    tracking_values.refresh(sandbox_sid, client=fake, force=True)
    return sandbox_sid


def test_a_non_ascii_code_another_partner_holds_is_found(cached):
    held = tracking_values.codes_held_elsewhere(
        cached, 1, "straße", "LI", deadline=patterns.Deadline(1.0)
    )
    assert [(h.code, h.partner_name) for h in held] == [("straße", "Peak Podcast")]


def test_a_catastrophic_expression_against_the_codes_is_quick_and_matches_nothing(cached):
    started = time.monotonic()
    held = tracking_values.codes_held_elsewhere(
        cached, 1, "(a+)+$", "RE", deadline=patterns.Deadline(1.0)
    )
    assert held == [] and time.monotonic() - started < 1.0


def picker(client, q):
    url = reverse("requests:tracking_values", args=["url"])
    return client.get(url, {"q": q, "target": "id_url_id"}, HTTP_HX_REQUEST="true")


def test_a_megabyte_picker_search_says_it_is_too_long_instead_of_listing_everything(
    as_alice, cached
):
    response = picker(as_alice, "a" * 2**20)
    body = response.content.decode()
    assert response.status_code == 200
    assert "at most 100 characters" in body
    assert "880001" not in body


@pytest.mark.parametrize("q", ["(a+)+$", "%", "_", "ＴＥＮＴＳ", "<script>x</script>"])
def test_hostile_picker_searches_match_literally_and_are_escaped(as_alice, cached, q):
    body = picker(as_alice, q).content.decode()
    assert "No branded URL of the account matches" in body
    assert "<script>x" not in body


def test_a_nul_in_the_picker_search_is_refused_with_a_message(as_alice, cached):
    response = picker(as_alice, "tents\x00")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    ["PageSize=99999999999999999999", "Page=0", "Page=-1&PageSize=abc", "Code=%00", "Page=9999"],
)
def test_the_sandbox_lists_answer_hostile_paging_with_an_error_or_an_empty_page(sandbox_sid, query):
    from django.conf import settings

    seed.seed(sandbox_sid, count=5, seed=1)
    auth = base64.b64encode(f"{sandbox_sid}:{settings.IMPACT_SANDBOX_AUTH_TOKEN}".encode())
    headers = {"Authorization": "Basic " + auth.decode()}
    for resource in ("UniqueUrls", "PhoneNumbers", "PromoCodes"):
        reply = api.handle("GET", f"/Advertisers/{sandbox_sid}/{resource}", query, headers, b"")
        assert reply.status in (200, 400)


@pytest.mark.parametrize(
    ("username", "email"),
    [("bad\x00name", ""), ("a" * 151, ""), ("alice smith!", ""), ("carol", "not an email")],
    ids=["nul", "too-long", "characters", "email"],
)
def test_create_user_refuses_a_bad_username_or_email_with_a_message_and_writes_nothing(
    monkeypatch, username, email
):
    from django.contrib.auth.models import User
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("NEW_PASSWORD", "a long enough passphrase 42")
    with pytest.raises(CommandError, match=r"^(username|email): "):
        call_command(
            "create_user", username, "--role", "reviewer", "--password-env", "NEW_PASSWORD",
            "--email", email,
        )  # fmt: skip
    assert not User.objects.exists()


def test_the_token_escaped_in_a_next_page_host_is_hidden_whatever_its_case(settings):
    token = "MixedCaseToken99"
    server = ImpactServer(SID, token).start()
    settings.IMPACT_AUTH_TOKEN, settings.IMPACT_ACCOUNT_SID = token, SID
    settings.IMPACT_API_BASE_URL = server.url
    link = b"http://" + escaped(token) + b".evil.example/UniqueUrls?Page=2"
    server.account = {
        "CompanyInformation": [{"CompanyName": "Co"}],
        "UniqueUrls": [b'{"UniqueUrls": [], "@nextpageuri": "' + link + b'"}'],
    }
    try:
        error = refresh().error
    finally:
        server.stop()
    assert "another server" in error and token.lower() not in error.lower()


def test_a_long_error_message_is_not_cut_inside_an_escaped_token(server):
    message = b'{"Message": "' + b"x" * 490 + escaped(TOKEN) + b'"}'
    server.account["CompanyInformation"] = [(400, message)]
    error = refresh().error
    assert error.startswith("x" * 490) and TOKEN[:8] not in error


def test_the_token_json_escaped_in_a_failed_syncs_error_reaches_no_audit_event(server, alice):
    import json

    from requests_app import sync
    from requests_app.models import AuditEvent, SyncRun

    message = b'{"Message": "Bad token ' + escaped(TOKEN) + b'"}'
    server.account["TrackingValueRequests"] = [(400, message)]
    run = sync.run_sync(SID, "full", user=alice)
    assert run.status == SyncRun.Status.FAILED and "Bad token [hidden]" in run.error
    events = list(AuditEvent.objects.values("response_message", "detail", "sent"))
    assert events and TOKEN not in json.dumps(events)


def test_a_list_that_always_links_one_more_page_stops_and_keeps_the_cached_list(
    server, monkeypatch
):
    from urllib.parse import parse_qs

    from requests_app import impact

    assert refresh().error == ""
    monkeypatch.setattr(impact, "MAX_PAGES", 5)
    server.journal.clear()

    def endless(query):
        page = int((parse_qs(query).get("Page") or ["1"])[0])
        path = f"/Advertisers/{SID}/UniqueUrls?Page={page + 1}" if page < 50 else ""  # "endless"
        return envelope("UniqueUrls", [{"Id": str(900000 + page), "Url": "u"}], path)

    server.account["UniqueUrls"] = [endless]
    result = refresh()
    assert "past 5 pages" in result.error
    listed = [p for _, p, _ in server.journal if "UniqueUrls" in p]
    assert len(listed) == 5
    assert list(TrackingValue.objects.values_list("impact_id", "is_gone")) == [("880001", False)]
