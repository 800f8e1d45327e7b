"""The impact.com token never reaches a page, a log line, an audit event or an error message.

Real-credentials mode against a canned impact.com (the `responses` library) that behaves as
badly as it can: it echoes the credentials back in its error messages. Every page a person can
open, every log record at DEBUG, every stored audit event, decision and sync run is then
searched for the token, plain and base64-encoded (as it travels in the Basic auth header).
"""

from __future__ import annotations

import base64
import logging

import pytest
import responses
from django.urls import reverse

from requests_app import sync
from requests_app.models import AuditEvent, Decision, SyncRun, TrackingValueRequest
from tests.conftest import wire_request

SID = "IRLeakCheck0000000000000000001"
TOKEN = "tok-Very-Secret-4f1c9e"
BASE = "https://api.impact.com"
LIST = f"{BASE}/Advertisers/{SID}/TrackingValueRequests"
FORMS = (TOKEN, base64.b64encode(f"{SID}:{TOKEN}".encode()).decode())


def echo(status: int, words: str) -> dict:
    """An impact.com error answer that repeats the credentials it was sent."""
    return {
        "status": status,
        "json": {
            "Status": "ERROR",
            "Message": f"{words} (you sent {SID}:{TOKEN})",
            "Errors": [{"Field": "PromoCode", "Message": f"token {TOKEN} is not allowed"}],
        },
    }


@pytest.fixture
def real_mode(settings):
    settings.IMPACT_ACCOUNT_SID = SID
    settings.IMPACT_AUTH_TOKEN = TOKEN
    settings.IMPACT_API_BASE_URL = BASE
    settings.IMPACT_READ_RETRIES = 0


def leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


@pytest.mark.django_db
@responses.activate
def test_the_token_appears_nowhere_even_when_impact_com_echoes_it(real_mode, client, admin, caplog):
    caplog.set_level(logging.DEBUG)
    promo, other = wire_request(), wire_request(MediaPartnerName="Second Partner")
    responses.get(
        LIST,
        json={
            "@page": "1",
            "@numpages": "1",
            "@pagesize": "1000",
            "@total": "2",
            "@nextpageuri": "",
            "TrackingValueRequests": [promo, other],
        },
    )
    assert sync.run_sync(SID).status == SyncRun.Status.SUCCEEDED
    responses.put(f"{LIST}/{promo['Id']}", **echo(400, "Validation failed"))
    responses.delete(f"{LIST}/{other['Id']}", **echo(500, "Internal error"))
    responses.get(f"{LIST}/{promo['Id']}", **echo(401, "Bad credentials"))
    responses.get(f"{LIST}/{other['Id']}", **echo(403, "Forbidden"))
    responses.replace(responses.GET, LIST, **echo(503, "Down for maintenance"))

    client.force_login(admin)
    pages = []
    approve = client.post(
        reverse("requests:approve", args=[promo["Id"]]),
        {"promo_code": "TRAIL20", "credit_policy": "WINNER", "match_mode": "LI"},
        follow=True,
    )
    reject = client.post(
        reverse("requests:reject", args=[other["Id"]]), {"reason_text": "no"}, follow=True
    )
    pages += [approve, reject]
    assert "Validation failed" in approve.content.decode()  # impact.com's words do get through
    assert sync.run_sync(SID).status == SyncRun.Status.FAILED
    for name, args in [
        ("requests:list", []),
        ("requests:detail", [promo["Id"]]),
        ("requests:detail", [other["Id"]]),
        ("requests:audit", []),
        ("requests:audit_export", []),
        ("requests:team", []),
        ("requests:sync_status", []),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200, name
        pages.append(response)

    texts = {
        "pages": "".join(
            b"".join(p.streaming_content if p.streaming else [p.content]).decode() for p in pages
        ),
        "logs": caplog.text + "".join(str(r.args) for r in caplog.records),
        # Every stored column of every row, as the database holds it.
        "audit": "".join(str(row) for row in AuditEvent.objects.values()),
        "decisions": "".join(str(row) for row in Decision.objects.values()),
        "sync runs": "".join(str(row) for row in SyncRun.objects.values()),
        "cache": "".join(str(row) for row in TrackingValueRequest.objects.values()),
    }
    assert "Validation failed" in texts["audit"] and "Internal error" in texts["decisions"]
    assert "Down for maintenance" in texts["sync runs"]
    assert {where: leaks(text) for where, text in texts.items() if leaks(text)} == {}
