"""Over a real socket: `run_sandbox`'s server, seeded with 1,000 requests, and the real client."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator

import pytest
import requests
from django.db import connection

from requests_app import impact
from requests_app.sandbox import seed
from requests_app.sandbox.models import SandboxRequest
from requests_app.sandbox.server import make_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(sandbox_sid) -> Iterator[str]:
    seed.seed(sandbox_sid, count=1000, seed=11)
    httpd = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def client_for(base_url: str, settings, **options) -> impact.ImpactClient:
    defaults = {
        "account_sid": settings.IMPACT_SANDBOX_ACCOUNT_SID,
        "auth_token": settings.IMPACT_SANDBOX_AUTH_TOKEN,
        "page_size": 100,
        "sleep": lambda seconds: None,
    }
    return impact.ImpactClient(base_url=base_url, **{**defaults, **options})


def pick(sid: str, request_type: str | None = None, state: str = "NEW") -> str:
    rows = SandboxRequest.objects.filter(account_sid=sid, state=state)
    if request_type:
        rows = rows.filter(request_type=request_type)
    return str(rows.order_by("impact_id").values_list("impact_id", flat=True)[0])


def test_client_lists_all_thousand_in_ten_pages_of_a_hundred(server, settings):
    pages = list(client_for(server, settings).iter_pages())
    assert len(pages) == 10
    assert [p.page for p in pages] == list(range(1, 11))
    ids = [item.id for page in pages for item in page.items]
    assert len(ids) == len(set(ids)) == 1000
    assert pages[-1].rate_limit.remaining < pages[0].rate_limit.remaining


def test_client_approves_one_of_each_type_and_rejects_one(server, settings, sandbox_sid):
    client = client_for(server, settings)
    promo = pick(sandbox_sid, "PROMOCODE_TRACKING")
    url = pick(sandbox_sid, "BRANDED_URL_TRACKING")
    phone = pick(sandbox_sid, "PHONE_NUMBER_TRACKING")
    client.approve(
        promo,
        impact.Approval(
            "PROMOCODE_TRACKING", promo_code="HTTP-ONLY-1", credit_policy="WINNER", match_mode="LI"
        ),
    )
    client.approve(url, impact.Approval("BRANDED_URL_TRACKING", url_id=812, deal_id=3001))
    client.approve(phone, impact.Approval("PHONE_NUMBER_TRACKING", assigned_phone_number_id=77))
    declined = pick(sandbox_sid)
    client.reject(declined)

    assert client.get_request(promo).promo_codes[0].approved_code == "HTTP-ONLY-1"
    assert client.get_request(url).unique_urls[0].url_id == 812
    assert client.get_request(phone).phone_numbers[0].assigned_phone_number_id == 77
    assert client.get_request(declined).state == "DECLINED"
    assert {client.get_request(i).state for i in (promo, url, phone)} == {"APPROVED"}


def test_every_error_class_comes_from_a_real_sandbox_response(server, settings, sandbox_sid):
    with pytest.raises(impact.AuthenticationFailed):
        client_for(server, settings, auth_token="wrong").get_request(pick(sandbox_sid))
    client = client_for(server, settings, read_retries=0)
    with pytest.raises(impact.NotFound):
        client.get_request("999999999")
    decided = pick(sandbox_sid, state="APPROVED")
    with pytest.raises(impact.Rejected, match="already been processed"):
        client.reject(decided)

    settings.IMPACT_SANDBOX_RATE_LIMIT_RATE = 1.0
    settings.IMPACT_SANDBOX_RETRY_AFTER = 7
    with pytest.raises(impact.RateLimited) as limited:
        client.get_request(decided)
    assert limited.value.retry_after == 7

    settings.IMPACT_SANDBOX_RATE_LIMIT_RATE = 0.0
    settings.IMPACT_SANDBOX_FAIL_RATE = 1.0
    with pytest.raises(impact.Unavailable):
        client.get_request(decided)


def test_a_closed_port_is_unavailable(settings):
    probe = make_server("127.0.0.1", 0)
    port = probe.server_port
    probe.server_close()
    with pytest.raises(impact.Unavailable):
        client_for(f"http://127.0.0.1:{port}", settings, read_retries=0).get_request("1")


def test_plain_http_client_gets_impact_shaped_json(server, settings, sandbox_sid):
    response = requests.get(
        f"{server}/Advertisers/{sandbox_sid}/TrackingValueRequests",
        params={"State": "NEW", "PageSize": 5},
        auth=(sandbox_sid, settings.IMPACT_SANDBOX_AUTH_TOKEN),
        timeout=5,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["@pagesize"] == "5" and "State=NEW" in body["@nextpageuri"]
    assert len(body["TrackingValueRequests"]) == 5


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_curl_as_in_the_readme(server, settings, sandbox_sid):
    token = settings.IMPACT_SANDBOX_AUTH_TOKEN
    url = f"{server}/Advertisers/{sandbox_sid}/TrackingValueRequests?State=NEW&PageSize=5"
    output = subprocess.run(
        ["curl", "-sf", "-u", f"{sandbox_sid}:{token}", url],
        capture_output=True,
        check=True,
        timeout=10,
    ).stdout
    body = json.loads(output)
    assert [item["State"] for item in body["TrackingValueRequests"]] == ["NEW"] * 5


# --- a sync over HTTP (reading the next page ahead) through injected faults --------------------
# On PostgreSQL only: the server thread here shares the test database, and SQLite's in-memory
# test database locks whole tables between threads (run_sandbox's file database, in WAL mode,
# does not). tests/test_sync.py runs every sync test through the read-ahead on both databases.

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's shared in-memory test DB locks tables"
)


def cached(sid: str) -> dict[str, str]:
    from requests_app.models import TrackingValueRequest

    return dict(
        TrackingValueRequest.objects.filter(account_sid=sid, is_gone=False).values_list(
            "impact_id", "state"
        )
    )


def truth(sid: str) -> dict[str, str]:
    """What the sandbox serves (its payloads), by request id."""
    return {
        str(i): payload["State"]
        for i, payload in SandboxRequest.objects.filter(account_sid=sid).values_list(
            "impact_id", "payload"
        )
    }


@needs_postgresql
def test_a_sync_through_5xx_and_429_ends_with_exactly_the_right_rows(server, settings, sandbox_sid):
    from requests_app import sync
    from requests_app.sandbox import api

    api.rng.seed(3)
    settings.IMPACT_SANDBOX_FAIL_RATE = 0.25
    settings.IMPACT_SANDBOX_RATE_LIMIT_RATE = 0.15
    settings.IMPACT_SANDBOX_RETRY_AFTER = 0
    client = client_for(server, settings, read_retries=20)
    assert client.over_network

    run = sync.run_sync(sandbox_sid, client=client)

    assert run.status == "succeeded", run.error
    assert run.api_calls == run.pages_done == 10
    assert cached(sandbox_sid) == truth(sandbox_sid)


@needs_postgresql
def test_a_sync_out_of_retries_records_its_error_and_keeps_whole_pages(
    server, settings, sandbox_sid
):
    from requests_app import sync
    from requests_app.sandbox import api

    assert sync.run_sync(sandbox_sid, client=client_for(server, settings)).status == "succeeded"
    before = cached(sandbox_sid)
    for row in SandboxRequest.objects.filter(account_sid=sandbox_sid, state="NEW"):
        row.state = row.payload["State"] = "DECLINED"  # decided in impact.com meanwhile
        row.save()
    api.rng.seed(5)
    settings.IMPACT_SANDBOX_FAIL_RATE = 0.3

    run = sync.run_sync(sandbox_sid, client=client_for(server, settings, read_retries=0))

    assert run.status == "failed" and "impact.com" in run.error
    assert run.pages_done < 10
    after, now = cached(sandbox_sid), truth(sandbox_sid)
    assert now != before
    assert after.keys() == before.keys()  # nothing marked gone, nothing lost
    ids = sorted(after, key=int)  # the sandbox pages in id order
    done = run.pages_done * 100
    assert all(after[i] == now[i] for i in ids[:done])  # pages written whole
    assert all(after[i] == before[i] for i in ids[done:])  # the rest as it was
