"""The simulated impact.com Tracking Value Requests API, with the account's CompanyInformation
and its UniqueUrls, PhoneNumbers and PromoCodes lists (see values.py).

One framework-neutral entry point, `handle()`, answers a request the way impact.com does (paths,
Basic auth, JSON with numbers as strings, the `@`-key paging envelope, form-encoded approvals,
`{"Status": "ERROR", ...}` errors, rate-limit headers). The in-process transport, the Django view
and `run_sandbox` all call it, so every way of reaching the sandbox behaves the same.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from . import values
from .models import SandboxCallWindow, SandboxRequest

STATES = ("NEW", "APPROVED", "COMPLETED", "DECLINED")
REQUEST_TYPES = ("PROMOCODE_TRACKING", "BRANDED_URL_TRACKING", "PHONE_NUMBER_TRACKING")
CREDIT_POLICIES = ("ALWAYS", "INVOLVED", "WINNER")
MATCH_MODES = ("LI", "RE")
DEFAULT_PAGE_SIZE = 1000

_PATH = re.compile(
    r"^/Advertisers/(?P<sid>[^/]+)/(?P<resource>TrackingValueRequests|CompanyInformation"
    r"|UniqueUrls|PhoneNumbers|PromoCodes)(?:\.json)?(?:/(?P<id>[^/]+?)(?:\.json)?)?/?$"
)
_BAD_GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)
# Fault injection draws from this; tests may replace it with a seeded Random.
rng = random.Random()


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _Fail(Exception):
    """An impact.com error answer, raised anywhere inside a handler."""

    def __init__(self, status: int, message: str, errors: list[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def _json(status: int, body: Mapping[str, Any], headers: dict[str, str] | None = None) -> Reply:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(
        status, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    )


def _error(status: int, message: str, errors: list[tuple[str, str]] = ()) -> Reply:
    body: dict[str, Any] = {"Status": "ERROR", "Message": message}
    if errors:
        body["Errors"] = [{"Field": f, "Message": m} for f, m in errors]
    return _json(status, body)


def handle(
    method: str,
    path: str,
    query: str | Mapping[str, list[str]] = "",
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Reply:
    """Answer one HTTP request as impact.com would."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    params = parse_qs(query, keep_blank_values=True) if isinstance(query, str) else dict(query)
    match = _PATH.match(path)
    if not match:
        return _error(404, "Resource not found")
    sid = match["sid"]
    denied = _check_auth(headers.get("authorization", ""), sid)
    if denied:
        return denied
    if settings.IMPACT_SANDBOX_LATENCY_MS:
        sleep(settings.IMPACT_SANDBOX_LATENCY_MS / 1000)
    limit_headers, over = _count_call(sid)
    reply = _injected_fault() or (over and _rate_limited(limit_headers))
    if not reply:
        try:
            if match["resource"] != "TrackingValueRequests":
                reply = _account_resource(method.upper(), path, sid, match, params)
            else:
                reply = _dispatch(method.upper(), path, sid, match["id"], params, headers, body)
        except _Fail as failure:
            reply = _error(failure.status, failure.message, failure.errors)
    reply.headers.update(limit_headers)
    return reply


def _dispatch(method, path, sid, request_id, params, headers, body) -> Reply:
    if request_id is None:
        if method != "GET":
            raise _Fail(405, f"Method {method} is not allowed on this resource")
        return _list(path, sid, params)
    row_id = _int_or_none(request_id)
    if row_id is None:
        raise _Fail(404, "Resource not found")
    if method == "GET":
        return _json(200, _get_row(sid, row_id).payload)
    if method == "PUT":
        return _approve(sid, row_id, _form(headers, body))
    if method == "DELETE":
        return _reject(sid, row_id)
    raise _Fail(405, f"Method {method} is not allowed on this resource")


# --- auth, rate limit and faults --------------------------------------------------------------


def _check_auth(header: str, path_sid: str) -> Reply | None:
    scheme, _, encoded = header.partition(" ")
    user = password = None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = None
    if (
        user != settings.IMPACT_SANDBOX_ACCOUNT_SID
        or password != settings.IMPACT_SANDBOX_AUTH_TOKEN
    ):
        reply = _error(401, "Authentication failed: check the Account SID and Auth Token")
        reply.headers["WWW-Authenticate"] = 'Basic realm="impact.com"'
        return reply
    if path_sid != user:
        return _error(403, f"Access denied: this token is not allowed for account {path_sid}")
    return None


def _count_call(sid: str) -> tuple[dict[str, str], bool]:
    """Count the call in the database (shared by every process) and return rate headers."""
    now = timezone.now()
    window = now.replace(minute=0, second=0, microsecond=0)
    limit = settings.IMPACT_SANDBOX_HOURLY_LIMIT
    with transaction.atomic():
        updated = SandboxCallWindow.objects.filter(account_sid=sid, window_start=window).update(
            calls=F("calls") + 1
        )
        if not updated:
            try:
                with transaction.atomic():
                    SandboxCallWindow.objects.create(account_sid=sid, window_start=window, calls=1)
            except IntegrityError:  # another process opened the window first
                SandboxCallWindow.objects.filter(account_sid=sid, window_start=window).update(
                    calls=F("calls") + 1
                )
            SandboxCallWindow.objects.filter(window_start__lt=window - timedelta(hours=2)).delete()
        calls = SandboxCallWindow.objects.get(account_sid=sid, window_start=window).calls
    reset = window + timedelta(hours=1)
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - calls)),
        "X-RateLimit-Reset": str(int(reset.timestamp())),
    }
    if calls > limit:
        headers["Retry-After"] = str(max(1, math.ceil((reset - now).total_seconds())))
    return headers, calls > limit


def _rate_limited(headers: dict[str, str]) -> Reply:
    return _error(429, "Rate limit exceeded: too many requests for this account this hour")


def _injected_fault() -> Reply | None:
    """A share of 5xx and of 429s, as IMPACT_SANDBOX_FAIL_RATE / _RATE_LIMIT_RATE ask."""
    draw = rng.random()
    fail_rate = settings.IMPACT_SANDBOX_FAIL_RATE
    if draw < fail_rate:
        # Alternate between impact.com's JSON error and a proxy's HTML page.
        if rng.random() < 0.5:
            return _error(503, "Service temporarily unavailable, please retry")
        return Reply(502, _BAD_GATEWAY_PAGE, {"Content-Type": "text/html"})
    if draw < fail_rate + settings.IMPACT_SANDBOX_RATE_LIMIT_RATE:
        reply = _error(429, "Rate limit exceeded: too many requests for this account this hour")
        reply.headers["Retry-After"] = str(settings.IMPACT_SANDBOX_RETRY_AFTER)
        return reply
    return None


# --- list and get -----------------------------------------------------------------------------


def _list(path: str, sid: str, params: Mapping[str, list[str]]) -> Reply:
    def one(name: str) -> str:
        values = params.get(name) or [""]
        return values[-1].strip()

    problems: list[tuple[str, str]] = []
    rows = SandboxRequest.objects.filter(account_sid=sid)
    for name, column in (
        ("CampaignId", "campaign_id"),
        ("DealId", "deal_id"),
        ("MediaPartnerId", "media_partner_id"),
    ):
        if value := one(name):
            number = _int_or_none(value)
            if number is None:
                problems.append((name, "Not a numeric value"))
            else:
                rows = rows.filter(**{column: number})
    for name, column, allowed in (
        ("State", "state", STATES),
        ("RequestType", "request_type", REQUEST_TYPES),
    ):
        if value := one(name):
            if value.upper() not in allowed:
                problems.append((name, f"Must be one of {', '.join(allowed)}"))
            else:
                rows = rows.filter(**{column: value.upper()})
    page, size = _paging(params, problems)

    total = rows.count()
    start = (page - 1) * size
    items = list(rows.order_by("impact_id").values_list("payload", flat=True)[start : start + size])
    return _envelope(
        path, params, "TrackingValueRequests", items, page=page, size=size, total=total
    )


def _account_resource(method, path, sid, match, params) -> Reply:
    """CompanyInformation (one object) and the account's tracking-value lists (read-only)."""
    resource = match["resource"]
    if method != "GET":
        raise _Fail(405, f"Method {method} is not allowed on this resource")
    if resource == "CompanyInformation":
        if match["id"] is not None:
            raise _Fail(404, "Resource not found")
        return _json(200, values.company_information(sid))
    records = {
        "UniqueUrls": values.unique_urls,
        "PhoneNumbers": values.phone_numbers,
        "PromoCodes": values.promo_codes,
    }[resource](sid)
    if match["id"] is not None:
        found = next((r for r in records if r["Id"] == match["id"]), None)
        if found is None:
            raise _Fail(404, "Resource not found")
        return _json(200, found)
    for name, key in (("Code", "Code"), ("State", "State"), ("CampaignId", "CampaignId")):
        wanted = (params.get(name) or [""])[-1].strip()
        if wanted:
            records = [r for r in records if str(r.get(key, "")).upper() == wanted.upper()]
    return _page(path, params, resource, records)


def _paging(params: Mapping[str, list[str]], problems: list[tuple[str, str]]) -> tuple[int, int]:
    """A list query's Page and PageSize (1 and the default when absent, the size capped), or a
    400 naming every problem: those found in the query's other parameters and these."""

    def number(name: str, default: int) -> int | None:
        return _int_or_none((params.get(name) or [""])[-1].strip() or str(default))

    page, size = number("Page", 1), number("PageSize", DEFAULT_PAGE_SIZE)
    if page is None or page < 1:
        problems.append(("Page", "Must be a positive integer"))
    if size is None or size < 1:
        problems.append(("PageSize", "Must be a positive integer"))
    if problems:
        raise _Fail(400, "Validation Failed", problems)
    return page, min(size, settings.IMPACT_SANDBOX_MAX_PAGE_SIZE)


def _page(path: str, params: Mapping[str, list[str]], key: str, records: list[Any]) -> Reply:
    """One page of a list, in impact.com's `@`-key envelope."""
    page, size = _paging(params, [])
    start = (page - 1) * size
    items = records[start : start + size]
    return _envelope(path, params, key, items, page=page, size=size, total=len(records))


def _envelope(
    path: str,
    params: Mapping[str, list[str]],
    key: str,
    items: list[Any],
    *,
    page: int,
    size: int,
    total: int,
) -> Reply:
    """Page `page` of a list of `total` (`items` under `key`), in impact.com's `@`-key envelope,
    its page links keeping every other parameter of the query."""
    num_pages = math.ceil(total / size)
    start = (page - 1) * size

    def uri(number: int) -> str:
        kept = [(k, v) for k, vs in params.items() if k not in ("Page", "PageSize") for v in vs]
        return f"{path}?{urlencode([*kept, ('PageSize', size), ('Page', number)])}"

    return _json(
        200,
        {
            "@page": str(page),
            "@numpages": str(num_pages),
            "@pagesize": str(size),
            "@total": str(total),
            "@start": str(start),
            "@end": str(start + max(len(items) - 1, 0)),
            "@uri": uri(page),
            "@firstpageuri": uri(1),
            "@previouspageuri": uri(page - 1) if page > 1 else "",
            "@nextpageuri": uri(page + 1) if page < num_pages else "",
            "@lastpageuri": uri(max(num_pages, 1)),
            key: items,
        },
    )


def _get_row(sid: str, row_id: int, *, for_update: bool = False) -> SandboxRequest:
    rows = SandboxRequest.objects.select_for_update() if for_update else SandboxRequest.objects
    try:
        return rows.get(account_sid=sid, impact_id=row_id)
    except SandboxRequest.DoesNotExist:
        raise _Fail(404, "Resource not found") from None


# --- approve and reject -----------------------------------------------------------------------


def _form(headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The PUT body: form-encoded as documented; JSON accepted too, as lenient servers do."""
    text = body.decode("utf-8", errors="replace")
    if "json" in headers.get("content-type", ""):
        try:
            data = json.loads(text or "{}")
        except ValueError:
            raise _Fail(400, "The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _Fail(400, "The request body must be an object")
        return {str(k): "" if v is None else str(v) for k, v in data.items()}
    return {k: v[-1].strip() for k, v in parse_qs(text, keep_blank_values=True).items()}


def _approve(sid: str, row_id: int, form: Mapping[str, str]) -> Reply:
    with transaction.atomic():
        row = _get_row(sid, row_id, for_update=True)
        _require_new(row)
        request_type = row.request_type
        problems: list[tuple[str, str]] = []
        deal_id = form.get("DealId", "")
        if deal_id and (_int_or_none(deal_id) or 0) < 1:
            problems.append(("DealId", "Not a numeric value"))
        if request_type == "PROMOCODE_TRACKING":
            problems += _check_promo(sid, row, form)
        else:
            name = "UrlId" if request_type == "BRANDED_URL_TRACKING" else "AssignedPhoneNumberId"
            value = form.get(name, "")
            if not value:
                problems.append((name, f"{name} is required for {request_type}"))
            elif (_int_or_none(value) or 0) < 1:
                problems.append((name, "Not a numeric value"))
        if problems:
            raise _Fail(400, "Validation Failed", problems)

        payload = dict(row.payload)
        completed = _now_like(payload)
        if request_type == "PROMOCODE_TRACKING":
            code = form["PromoCode"]
            entries = payload.get("PromoCodes") or [{"Id": str(row_id * 10 + 1)}]
            payload["PromoCodes"] = [
                {
                    **entry,
                    "ApprovedPromoCode": code,
                    "CreditPolicy": form["CreditPolicy"].upper(),
                    "MatchMode": form["MatchMode"].upper(),
                }
                for entry in entries
            ]
            row.approved_code = code.upper()
        elif request_type == "BRANDED_URL_TRACKING":
            url_id = str(int(form["UrlId"]))
            entries = payload.get("UniqueUrls") or [{"Id": str(row_id * 10 + 1), "Url": ""}]
            payload["UniqueUrls"] = [
                {
                    **entry,
                    "UrlId": url_id,
                    "Url": entry.get("Url") or f"https://go.acme-outdoor.example/r/{url_id}",
                }
                for entry in entries
            ]
        else:
            number_id = int(form["AssignedPhoneNumberId"])
            entries = payload.get("PhoneNumbers") or [{"Id": str(row_id * 10 + 1)}]
            payload["PhoneNumbers"] = [
                {
                    **entry,
                    "AssignedPhoneNumberId": str(number_id),
                    "AssignedPhoneNumber": values.phone_number_for(number_id),
                }
                for entry in entries
            ]
        if deal_id:
            payload["DealId"] = str(int(deal_id))
            row.deal_id = int(deal_id)
        if form.get("DealName"):
            payload["DealName"] = form["DealName"]
        payload.update(State="APPROVED", DateCompleted=completed, ProcessingComments="Approved")
        row.state = "APPROVED"
        row.payload = payload
        row.save()
    return _json(200, {"Status": "OK", "Uri": payload.get("Uri") or _uri(sid, row_id)})


def _check_promo(sid: str, row: SandboxRequest, form: Mapping[str, str]) -> list[tuple[str, str]]:
    problems = []
    code = form.get("PromoCode", "")
    policy = form.get("CreditPolicy", "").upper()
    mode = form.get("MatchMode", "").upper()
    if not code:
        problems.append(("PromoCode", "PromoCode is required for PROMOCODE_TRACKING"))
    elif len(code) > 255:
        problems.append(("PromoCode", "Must be at most 255 characters"))
    if policy not in CREDIT_POLICIES:
        problems.append(("CreditPolicy", f"Must be one of {', '.join(CREDIT_POLICIES)}"))
    if mode not in MATCH_MODES:
        problems.append(("MatchMode", f"Must be one of {', '.join(MATCH_MODES)}"))
    elif mode == "RE" and code:
        try:
            re.compile(code)
        except re.error as error:
            problems.append(("PromoCode", f"Not a valid regular expression: {error}"))
    if code and not problems:
        taken = (
            SandboxRequest.objects.filter(account_sid=sid, approved_code=code.upper())
            .exclude(media_partner_id=row.media_partner_id)
            .exclude(state="DECLINED")
            .exists()
        )
        if taken:
            problems.append(
                ("PromoCode", f"Promo code {code} is already assigned to another partner")
            )
    return problems


def _reject(sid: str, row_id: int) -> Reply:
    with transaction.atomic():
        row = _get_row(sid, row_id, for_update=True)
        _require_new(row)
        payload = dict(row.payload)
        payload.update(
            State="DECLINED", DateCompleted=_now_like(payload), ProcessingComments="Declined"
        )
        row.state = "DECLINED"
        row.payload = payload
        row.save()
    return _json(200, {"Status": "OK", "Uri": payload.get("Uri") or _uri(sid, row_id)})


def _require_new(row: SandboxRequest) -> None:
    if row.state != "NEW":
        raise _Fail(
            400,
            f"Tracking value request {row.impact_id} has already been processed "
            f"(state {row.state}); only NEW requests can be approved or declined",
        )


# --- small helpers ----------------------------------------------------------------------------


def _uri(sid: str, row_id: int) -> str:
    return f"/Advertisers/{sid}/TrackingValueRequests/{row_id}"


def _int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if re.fullmatch(r"[+-]?\d{1,18}", value) else None


def _now_like(payload: Mapping[str, Any]) -> str:
    """Now, as an ISO 8601 string in the same UTC offset as the request's DatePlaced."""
    try:
        zone = datetime.fromisoformat(str(payload.get("DatePlaced"))).tzinfo or UTC
    except ValueError:
        zone = UTC
    return timezone.now().astimezone(zone).isoformat(timespec="seconds")
