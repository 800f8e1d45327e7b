"""The only module that speaks HTTP to impact.com.

Contract for callers (views, sync, commands): they never see `requests`, status codes or
sessions. They get typed, frozen objects (`TrackingValueRequest`, `RequestPage`) or one of the
`ImpactError` subclasses below, each carrying a message a person can read.

Wire format: `shared/impact/API.md` and the OpenAPI description beside it. JSON is asked for
with `Accept: application/json`; numbers may arrive as JSON numbers or strings; `""` and `null`
both mean absent; approve is a form-encoded PUT, reject a DELETE with no body.

Retries: reads retry with backoff on 429 (honouring Retry-After), 5xx, timeouts and connection
errors, within a bound. Approve and reject are retried only when the connection was never made
(so impact.com provably never saw them). Any other failure after the request may have left is
`OutcomeUnknown`: the caller settles it by reading the request again, never by sending again.

Credentials: the token is cut out of every answer (raw, URL-encoded, base64 of `SID:token`, the
`Authorization` value) before anything is parsed, and the client follows `@nextpageuri` only
on the configured base's scheme, host and port, so the token never travels anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus, urljoin, urlsplit

import orjson
import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from urllib3.util import Timeout

import tvr_dashboard

logger = logging.getLogger(__name__)

USER_AGENT = f"TVR-Dashboard/{tvr_dashboard.__version__} (+python-requests)"
# Base URL of the sandbox when it answers in-process (see requests_app/sandbox/transport.py).
IN_PROCESS_SANDBOX_URL = "http://sandbox.tvr.invalid"

STATES = ("NEW", "APPROVED", "COMPLETED", "DECLINED")
REQUEST_TYPES = ("PROMOCODE_TRACKING", "BRANDED_URL_TRACKING", "PHONE_NUMBER_TRACKING")
CREDIT_POLICIES = ("ALWAYS", "INVOLVED", "WINNER")
MATCH_MODES = ("LI", "RE")


# --- errors -----------------------------------------------------------------------------------


class ImpactError(Exception):
    """Base of every failure talking to impact.com. `message` is safe to show a person."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotConfigured(ImpactError):
    """No credentials for the account asked for."""


class InvalidApproval(ImpactError):
    """The approval is missing or has a bad type-specific field; nothing was sent."""


class AuthenticationFailed(ImpactError):
    """401 or 403: the SID/token pair is wrong or not allowed to do this."""


class NotFound(ImpactError):
    """404: no such request (or account)."""


class RateLimited(ImpactError):
    """429: too many calls; `retry_after` is the wait impact.com asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class Rejected(ImpactError):
    """impact.com refused the call (4xx other than auth, 404 and 429); its own words kept."""

    def __init__(self, message: str, *, status: int, errors: tuple[FieldError, ...] = ()) -> None:
        super().__init__(message, status=status)
        self.errors = errors

    @property
    def detail(self) -> str:
        """impact.com's message followed by its field-level errors, verbatim."""
        parts = [self.message] + [
            f"{e.field}: {e.message}" if e.field else e.message for e in self.errors
        ]
        return "; ".join(p for p in parts if p)


class Unavailable(ImpactError):
    """Timeout, connection error, 5xx, or a body that is not the JSON promised.

    `maybe_sent` is True when a write may have reached impact.com before it failed, so its
    outcome is unknown until the request is read again.
    """

    def __init__(
        self, message: str, *, status: int | None = None, maybe_sent: bool = False
    ) -> None:
        super().__init__(message, status=status)
        self.maybe_sent = maybe_sent


class OutcomeUnknown(Unavailable):
    """An approve or reject left, and what impact.com made of it is not known: a timeout or a
    broken connection after sending, a 5xx, or a 2xx that is not the documented confirmation.
    Only a fresh read of the request can tell; sending it again could decide twice."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, status=status, maybe_sent=True)


class UnsafeNextPage(ImpactError):
    """impact.com's `@nextpageuri` points away from the configured base URL; not followed."""


# --- typed results ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)  # the common case, "1000"; "1.0", "1e3" and the like below
        except ValueError:
            pass
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if number != number.to_integral_value():
        return None
    return int(number)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    # str() first so a JSON float keeps its shortest form instead of its binary expansion.
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _datetime(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    lowered = _text(value).strip().lower()
    return {"true": True, "false": False, "1": True, "0": False}.get(lowered)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(_text(v) for v in value if v not in (None, ""))
    if isinstance(value, str) and value:
        return (value,)
    return ()


def _storable(value: Any) -> tuple[Any, str]:
    """The value as any database can keep it, and its canonical JSON text (sorted keys).

    NaN/Infinity (which Python's JSON parser accepts) are written as null and NUL characters
    (which PostgreSQL refuses) are removed. Nearly every answer is already clean: one C-speed
    encode proves it and is kept (the sync hashes and stores that text); only a payload that
    fails the proof is walked value by value.
    """
    try:
        blob = canonical_json(value)
    except (TypeError, ValueError):  # keys that cannot be sorted
        blob = None
    if blob is not None and "\\u0000" not in blob:
        return value, blob
    clean = _scrubbed(value)
    return clean, canonical_json(clean)


def fingerprint(value: Any) -> str:
    """A payload's hash, for noticing that impact.com changed a request: sha256 of its JSON as
    orjson writes it in C, keys in the order they came (sorting them cost more than encoding and
    hashing together; a server that reorders keys costs one rewrite). Taken over the copy the
    cache stores (NULs removed), so the raw and the stored payload have the same fingerprint."""
    data = _compact(value)
    if b"\\u0000" in data and (clean := _scrubbed(value)) != value:
        data = _compact(clean)
    return hashlib.sha256(data).hexdigest()


def _compact(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_ENCODER.default)
    except orjson.JSONEncodeError:  # past 64 bits, a lone surrogate: the same shape, escaped
        return json.dumps(value, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def canonical_json(value: Any) -> str:
    """Sorted keys, compact, UTF-8, NaN as null: the text the cache stores a payload as.

    orjson, about six times the standard library's speed; what it refuses (an integer past 64
    bits, a lone surrogate) the standard library writes in the same shape."""
    try:
        return orjson.dumps(value, default=_ENCODER.default, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(
            value,
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,  # ValueError: the caller scrubs (see _storable)
            cls=DjangoJSONEncoder,
        )


def decode_json(content: bytes) -> Any:
    """A JSON answer as Python values: orjson (about 1.5x the standard library on a page),
    the standard library for what orjson refuses (NaN, integers past 64 bits)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content, parse_constant=lambda constant: None)


_ENCODER = DjangoJSONEncoder()


def _scrubbed(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, Mapping):
        return {_scrubbed(str(k)): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def _records(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def parse(cls, amount: Any, currency: Any) -> Money | None:
        number = _decimal(amount)
        return None if number is None else cls(number, _text(currency).upper())

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}".strip()


@dataclass(frozen=True)
class PromoCode:
    id: str
    requested_code: str
    approved_code: str
    credit_policy: str
    match_mode: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PromoCode:
        return cls(
            id=_text(raw.get("Id")),
            requested_code=_text(raw.get("RequestedPromoCode") or raw.get("RequestedCode")),
            approved_code=_text(raw.get("ApprovedPromoCode") or raw.get("ApprovedCode")),
            credit_policy=_text(raw.get("CreditPolicy")),
            match_mode=_text(raw.get("MatchMode")),
        )


@dataclass(frozen=True)
class UniqueUrl:
    id: str
    url: str
    url_id: int | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, assigned: bool = False) -> UniqueUrl:
        """Once assigned, impact.com-compatible servers name the URL's id `UrlId` or `Id`."""
        url_id = _int(raw.get("UrlId"))
        if url_id is None and assigned:
            url_id = _int(raw.get("Id"))
        return cls(id=_text(raw.get("Id")), url=_text(raw.get("Url")), url_id=url_id)


@dataclass(frozen=True)
class PhoneNumber:
    id: str
    assigned_phone_number_id: int | None
    assigned_phone_number: str

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PhoneNumber:
        return cls(
            id=_text(raw.get("Id")),
            assigned_phone_number_id=_int(raw.get("AssignedPhoneNumberId")),
            assigned_phone_number=_text(raw.get("AssignedPhoneNumber")),
        )


@dataclass(frozen=True)
class DealProduct:
    name: str
    image_url: str
    before_price: Money | None
    after_price: Money | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> DealProduct:
        return cls(
            name=_text(raw.get("ProductName")),
            image_url=_text(raw.get("ProductImageURL") or raw.get("ProductImageUrl")),
            before_price=Money.parse(
                raw.get("ProductBeforePriceAmount"), raw.get("ProductBeforePriceCurrency")
            ),
            after_price=Money.parse(
                raw.get("ProductAfterPriceAmount"), raw.get("ProductAfterPriceCurrency")
            ),
        )


@dataclass(frozen=True)
class Deal:
    """The deal attached to a request; every Deal* and discount field of the wire format."""

    id: int | None
    name: str
    description: str
    state: str
    type: str
    scope: str
    products: tuple[DealProduct, ...]
    categories: str
    discount_type: str
    discount_amount: Money | None
    discount_percent: Decimal | None
    discount_maximum_percent: Decimal | None
    discount_percent_range_start: Decimal | None
    discount_percent_range_end: Decimal | None
    gift: str
    rebate: Money | None
    default_promo_code: str
    minimum_purchase: Money | None
    maximum_savings: Money | None
    bogo_buy_quantity: int | None
    bogo_buy_scope: str
    bogo_buy_name: str
    bogo_buy_image_url: str
    bogo_get_quantity: int | None
    bogo_get_scope: str
    bogo_get_discount_type: str
    bogo_get_name: str
    bogo_get_image_url: str
    bogo_get_discount: Money | None
    bogo_get_discount_percent: Decimal | None
    purchase_limit_quantity: int | None
    start_date: datetime | None
    end_date: datetime | None
    synch_ads_promo_codes: bool | None
    restricted_partners: tuple[str, ...]
    restricted_partner_groups: tuple[str, ...]

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "DealId", "DealName", "DealDescription", "DealState", "DealType", "DealScope",
            "DealProducts", "DealCategories", "DiscountType", "DiscountAmount",
            "DiscountCurrency", "DiscountPercent", "DiscountMaximumPercent",
            "DiscountPercentRangeStart", "DiscountPercentRangeEnd", "Gift", "RebateAmount",
            "RebateCurrency", "DealDefaultPromoCode", "MinimumPurchaseAmount",
            "MinimumPurchaseAmountCurrency", "MaximumSavingsAmount", "MaximumSavingsCurrency",
            "BogoBuyQuantity", "BogoBuyScope", "BogoBuyName", "BogoBuyImageUrl",
            "BogoGetQuantity", "BogoGetScope", "BogoGetDiscountType", "BogoGetName",
            "BogoGetImageUrl", "BogoGetDiscountAmount", "BogoGetDiscountCurrency",
            "BogoGetDiscountPercent", "PurchaseLimitQuantity", "DealStartDate", "DealEndDate",
            "SynchAdsPromoCodes", "DealRestrictedMediaPartners",
            "DealRestrictedMediaPartnerGroups",
        }
    )  # fmt: skip

    @staticmethod
    def columns(raw: Mapping[str, Any]) -> tuple[int | None, str, str, str] | None:
        """The deal's id, name, type and state (the list's columns) without parsing the rest;
        None when no deal is attached (id, name and type empty)."""
        deal_id, name = _int(raw.get("DealId")), _text(raw.get("DealName"))
        kind = _text(raw.get("DealType")).upper()
        if deal_id is None and not name and not kind:
            return None
        return deal_id, name, kind, _text(raw.get("DealState")).upper()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Deal | None:
        """The request's deal, or None when no deal is attached (id, name and type empty)."""
        if cls.columns(raw) is None:
            return None
        g = raw.get
        return cls(
            id=_int(g("DealId")),
            name=_text(g("DealName")),
            description=_text(g("DealDescription")),
            state=_text(g("DealState")).upper(),
            type=_text(g("DealType")).upper(),
            scope=_text(g("DealScope")).upper(),
            products=tuple(DealProduct.parse(p) for p in _records(g("DealProducts"))),
            categories=_text(g("DealCategories")),
            discount_type=_text(g("DiscountType")).upper(),
            discount_amount=Money.parse(g("DiscountAmount"), g("DiscountCurrency")),
            discount_percent=_decimal(g("DiscountPercent")),
            discount_maximum_percent=_decimal(g("DiscountMaximumPercent")),
            discount_percent_range_start=_decimal(g("DiscountPercentRangeStart")),
            discount_percent_range_end=_decimal(g("DiscountPercentRangeEnd")),
            gift=_text(g("Gift")),
            rebate=Money.parse(g("RebateAmount"), g("RebateCurrency")),
            default_promo_code=_text(g("DealDefaultPromoCode")),
            minimum_purchase=Money.parse(
                g("MinimumPurchaseAmount"), g("MinimumPurchaseAmountCurrency")
            ),
            maximum_savings=Money.parse(g("MaximumSavingsAmount"), g("MaximumSavingsCurrency")),
            bogo_buy_quantity=_int(g("BogoBuyQuantity")),
            bogo_buy_scope=_text(g("BogoBuyScope")).upper(),
            bogo_buy_name=_text(g("BogoBuyName")),
            bogo_buy_image_url=_text(g("BogoBuyImageUrl")),
            bogo_get_quantity=_int(g("BogoGetQuantity")),
            bogo_get_scope=_text(g("BogoGetScope")).upper(),
            bogo_get_discount_type=_text(g("BogoGetDiscountType")).upper(),
            bogo_get_name=_text(g("BogoGetName")),
            bogo_get_image_url=_text(g("BogoGetImageUrl")),
            bogo_get_discount=Money.parse(g("BogoGetDiscountAmount"), g("BogoGetDiscountCurrency")),
            bogo_get_discount_percent=_decimal(g("BogoGetDiscountPercent")),
            purchase_limit_quantity=_int(g("PurchaseLimitQuantity")),
            start_date=_datetime(g("DealStartDate")),
            end_date=_datetime(g("DealEndDate")),
            synch_ads_promo_codes=_bool(g("SynchAdsPromoCodes")),
            restricted_partners=_strings(g("DealRestrictedMediaPartners")),
            restricted_partner_groups=_strings(g("DealRestrictedMediaPartnerGroups")),
        )


@dataclass(frozen=True)
class TrackingValueRequest:
    """One tracking value request, every documented field typed; unknown fields in `extra`."""

    id: str
    campaign_id: int | None
    campaign_name: str
    media_partner_id: int | None
    media_partner_name: str
    request_type: str
    number_requested: int | None
    promo_codes: tuple[PromoCode, ...]
    unique_urls: tuple[UniqueUrl, ...]
    phone_numbers: tuple[PhoneNumber, ...]
    state: str
    date_placed: datetime | None
    date_needed: datetime | None
    date_completed: datetime | None
    additional_instructions: str
    processing_comments: str
    uri: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    raw_json: str = field(default="", repr=False, compare=False)

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "Id", "CampaignId", "CampaignName", "MediaPartnerId", "MediaPartnerName",
            "RequestType", "NumberRequested", "PromoCodes", "UniqueUrls", "PhoneNumbers",
            "State", "DatePlaced", "DateNeeded", "DateCompleted", "AdditionalInstructions",
            "ProcessingComments", "Uri",
        }
    )  # fmt: skip

    KNOWN: ClassVar[frozenset[str]] = FIELDS | Deal.FIELDS

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, canonical: str = "") -> TrackingValueRequest:
        """Type one request. `canonical`: its canonical JSON text when the caller already
        made `raw` storable (`RequestPage.canonical`), so it is not encoded twice."""
        if canonical:
            clean, blob = raw, canonical
        else:
            request_id(raw)
            clean, blob = _storable(raw)
        g = clean.get
        known = cls.KNOWN
        return cls(
            id=_text(g("Id")).strip(),
            campaign_id=_int(g("CampaignId")),
            campaign_name=_text(g("CampaignName")),
            media_partner_id=_int(g("MediaPartnerId")),
            media_partner_name=_text(g("MediaPartnerName")),
            request_type=_text(g("RequestType")).upper(),
            number_requested=_int(g("NumberRequested")),
            promo_codes=tuple(PromoCode.parse(p) for p in _records(g("PromoCodes"))),
            unique_urls=tuple(
                UniqueUrl.parse(u, assigned=_text(g("State")).upper() not in ("", "NEW"))
                for u in _records(g("UniqueUrls"))
            ),
            phone_numbers=tuple(PhoneNumber.parse(p) for p in _records(g("PhoneNumbers"))),
            state=_text(g("State")).upper(),
            date_placed=_datetime(g("DatePlaced")),
            date_needed=_datetime(g("DateNeeded")),
            date_completed=_datetime(g("DateCompleted")),
            additional_instructions=_text(g("AdditionalInstructions")),
            processing_comments=_text(g("ProcessingComments")),
            uri=_text(g("Uri")),
            extra={k: v for k, v in clean.items() if k not in known},
            raw=clean,
            raw_json=blob,
        )

    @cached_property
    def deal(self) -> Deal | None:
        """Parsed on first use: a sync needs only `Deal.columns`, the detail page all of it."""
        return Deal.parse(self.raw)

    @property
    def is_open(self) -> bool:
        return self.state == "NEW"


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    reset_at: datetime | None

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], *, now: datetime | None = None
    ) -> RateLimit | None:
        def first(*names: str) -> str | None:
            return next((headers[n] for n in names if n in headers), None)

        limit = _int(first("X-RateLimit-Limit", "X-RateLimit-Limit-hour"))
        remaining = _int(first("X-RateLimit-Remaining", "X-RateLimit-Remaining-hour"))
        reset = _decimal(first("X-RateLimit-Reset", "X-RateLimit-Reset-hour"))
        if limit is None and remaining is None:
            return None
        reset_at = None
        if reset is not None:
            now = now or datetime.now(UTC)
            # Documented as seconds; the example looks like an epoch time. Accept both.
            reset_at = (
                datetime.fromtimestamp(float(reset), UTC)
                if reset > 1_000_000_000
                else now + timedelta(seconds=float(reset))
            )
        return cls(limit=limit, remaining=remaining, reset_at=reset_at)

    @property
    def share_left(self) -> float | None:
        if self.limit and self.remaining is not None:
            return max(0.0, min(1.0, self.remaining / self.limit))
        return None


@dataclass(frozen=True)
class RequestPage:
    """One list page. Its requests are typed on first use of `items`, in the thread that uses
    them: a sync downloads the next page in a thread that then does no CPU-bound work."""

    records: tuple[Mapping[str, Any], ...]
    page: int
    num_pages: int | None
    page_size: int | None
    total: int | None
    next_uri: str
    rate_limit: RateLimit | None

    @cached_property
    def items(self) -> tuple[TrackingValueRequest, ...]:
        return tuple(TrackingValueRequest.parse(raw) for raw in self.records)

    def fingerprints(self) -> Iterator[tuple[str, Mapping[str, Any], str]]:
        """Each request's id, raw value and fingerprint, without typing it: a sync compares the
        fingerprint with the row it holds and types (and encodes to store) only what changed."""
        for raw in self.records:
            yield request_id(raw), raw, fingerprint(raw)


# The cache keys requests by Id in a column of this width (impact.com's Ids are short numbers).
MAX_ID_LENGTH = 32


def request_id(raw: Any) -> str:
    """A request's Id, or Unavailable when it has none or one no request could have: longer
    than the cache's key or holding control characters (a NUL would be cut out of the stored
    copy, so the request would come back as another one on every sync)."""
    if not isinstance(raw, Mapping) or (impact_id := _text(raw.get("Id")).strip()) == "":
        raise Unavailable("impact.com sent a tracking value request without an Id.")
    if len(impact_id) > MAX_ID_LENGTH or not impact_id.isprintable():
        raise Unavailable(
            f"impact.com sent a tracking value request whose Id is longer than "
            f"{MAX_ID_LENGTH} characters or holds control characters."
        )
    return impact_id


@dataclass(frozen=True)
class WriteResult:
    """impact.com's answer to an approve or reject: applied (`Uri`) or queued (`QueuedUri`)."""

    uri: str
    queued: bool = False


class Deadline:
    """A time budget shared by several calls (an approve and the re-read after it)."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ends_at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends_at - self.clock())

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0.0


class Redactor:
    """Cuts every form the credentials could come back in out of a text: the token raw and
    URL-encoded, `SID:token` in base64 (the `Authorization: Basic` value), JSON-escaped too."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        basic = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        forms = {auth_token, quote(auth_token, safe=""), quote_plus(auth_token), basic}
        forms |= {quote(basic, safe=""), base64.urlsafe_b64encode(basic.encode()).decode()}
        forms |= {f.replace("/", "\\/") for f in forms}  # JSON may escape the slash
        # Longest first, so a form that contains another is cut whole.
        self.texts = sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)
        self.blobs = [f.encode() for f in self.texts]

    def text(self, value: str) -> str:
        for secret in self.texts:
            if secret in value:
                value = value.replace(secret, "[hidden]")
        return value

    def bytes(self, body: bytes) -> bytes:
        for secret in self.blobs:
            if secret in body:
                body = body.replace(secret, b"[hidden]")
        return body


# --- the account: company information and its tracking values -------------------------------


@dataclass(frozen=True)
class CompanyInformation:
    """`GET /Advertisers/{SID}/CompanyInformation`: who the account is (names as impact.com's
    account object and public clients such as tap-impact spell them)."""

    company_name: str
    website: str
    timezone: str
    currency: str
    primary_phone_number: str
    organization_type: str
    uri: str

    @classmethod
    def parse(cls, raw: Any) -> CompanyInformation:
        if not isinstance(raw, Mapping) or not _scalar(raw.get("CompanyName")).strip():
            raise Unavailable("impact.com's company information has no CompanyName.")
        g = raw.get
        return cls(
            company_name=_scalar(g("CompanyName")).strip()[:200],
            website=_scalar(g("Website")).strip(),
            timezone=_scalar(g("Timezone") or g("TimeZone")).strip(),
            currency=_scalar(g("Currency")).strip().upper(),
            primary_phone_number=_scalar(g("PrimaryPhoneNumber")).strip(),
            organization_type=_scalar(g("OrganizationType")).strip(),
            uri=_scalar(g("Uri")).strip(),
        )


_BIGINT_MAX = 2**63 - 1


def _scalar(value: Any) -> str:
    """A text field's value; a list or an object where text belongs is garbage, not a name."""
    return "" if isinstance(value, Mapping | list) else _text(value)


def _bigint(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and -_BIGINT_MAX <= number <= _BIGINT_MAX else None


def _cleaned(value: Any, redactor: Redactor) -> Any:
    """A decoded answer's strings as a page and PostgreSQL may hold them: the credentials cut
    out (JSON's \\u escapes hid them from the cut made on the bytes), no NUL characters, no
    lone surrogates."""
    if isinstance(value, str):
        if not value.isascii():
            value = value.encode("utf-8", "replace").decode()
        return redactor.text(value.replace("\x00", ""))
    if isinstance(value, Mapping):
        return {key: _cleaned(item, redactor) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item, redactor) for item in value]
    return value


# Pages of one tracking-value list at most (a million values at the default page size).
# Pages one walk of a list may read: a server that always links one more page (or announces
# more pages than it ever serves) would otherwise spend the hourly budget for ever.
MAX_PAGES = 1000

# The account's tracking values: (resource path, array key) per kind.
TRACKING_VALUE_RESOURCES = {
    "url": ("UniqueUrls", "UniqueUrls"),
    "phone": ("PhoneNumbers", "PhoneNumbers"),
    "code": ("PromoCodes", "PromoCodes"),
}


@dataclass(frozen=True)
class TrackingValue:
    """One of the account's unique URLs, tracking phone numbers or promo codes.

    `value` is the URL, the number or the code; `match_mode` and `credit_policy` are a promo
    code's (impact.com's list calls the match mode `Type`); `partner_*` whom it is assigned to.
    """

    kind: str
    id: str
    value: str
    state: str
    campaign_id: int | None
    campaign_name: str
    partner_id: int | None
    partner_name: str
    match_mode: str = ""
    credit_policy: str = ""
    detail: str = ""

    @classmethod
    def parse(cls, kind: str, raw: Mapping[str, Any]) -> TrackingValue | None:
        """The value, or None for a record without an id (nothing to pick or send)."""
        g = raw.get
        item_id = _int(g("Id"))
        if item_id is None or not 1 <= item_id <= _BIGINT_MAX:  # past 64 bits: not impact's
            return None
        common = {
            "kind": kind,
            "id": str(item_id),
            "state": _scalar(g("State")).strip().upper(),
            "campaign_id": _bigint(g("CampaignId")),
            "campaign_name": _scalar(g("CampaignName")).strip(),
        }
        if kind == "url":
            return cls(
                value=_scalar(g("Url")).strip(),
                partner_id=_bigint(g("MediaPartnerId")),
                partner_name=_scalar(g("MediaPartnerName")).strip(),
                detail=_scalar(g("LandingPage")).strip(),
                **common,
            )
        if kind == "phone":
            return cls(
                value=_scalar(g("Number") or g("InternationalNumber")).strip(),
                partner_id=_bigint(g("MediaPartnerId")),
                partner_name=_scalar(g("MediaPartnerName")).strip(),
                detail=_scalar(g("Country")).strip(),
                **common,
            )
        return cls(
            value=_scalar(g("Code")).strip(),
            partner_id=_bigint(g("AssignedPartnerId")),
            partner_name=_scalar(g("AssignedPartnerName")).strip(),
            match_mode=_scalar(g("Type") or g("MatchMode")).strip().upper(),
            credit_policy=_scalar(g("CreditPolicy")).strip().upper(),
            **common,
        )


# --- approvals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    """What approving a request sends; which fields are needed depends on `request_type`."""

    request_type: str
    promo_code: str = ""
    credit_policy: str = ""
    match_mode: str = ""
    url_id: int | None = None
    assigned_phone_number_id: int | None = None
    deal_id: int | None = None
    deal_name: str = ""

    def form_data(self) -> dict[str, str]:
        """The form-encoded PUT body, after checking the type-specific fields."""
        data: dict[str, str] = {}
        if self.request_type == "PROMOCODE_TRACKING":
            if not self.promo_code.strip():
                raise InvalidApproval("A promo code approval needs the PromoCode.")
            if self.credit_policy not in CREDIT_POLICIES:
                raise InvalidApproval("CreditPolicy must be one of ALWAYS, INVOLVED or WINNER.")
            if self.match_mode not in MATCH_MODES:
                raise InvalidApproval("MatchMode must be LI (exact) or RE (regular expression).")
            data |= {
                "PromoCode": self.promo_code.strip(),
                "CreditPolicy": self.credit_policy,
                "MatchMode": self.match_mode,
            }
        elif self.request_type == "BRANDED_URL_TRACKING":
            data["UrlId"] = str(_positive(self.url_id, "UrlId"))
        elif self.request_type == "PHONE_NUMBER_TRACKING":
            data["AssignedPhoneNumberId"] = str(
                _positive(self.assigned_phone_number_id, "AssignedPhoneNumberId")
            )
        else:
            raise InvalidApproval(f"Unknown request type {self.request_type!r}.")
        if self.deal_id is not None:
            data["DealId"] = str(_positive(self.deal_id, "DealId"))
        if self.deal_name.strip():
            data["DealName"] = self.deal_name.strip()
        return data


def _positive(value: int | None, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidApproval(f"{name} must be a positive whole number.")
    return value


# --- the client -------------------------------------------------------------------------------


class ImpactClient:
    """impact.com's Tracking Value Request calls for one advertiser account."""

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        interactive_timeout: float = 10.0,
        read_retries: int = 3,
        max_retry_wait: float = 60.0,
        page_size: int = 1000,
        api_version: str = "14",
        max_body_bytes: int = 64 * 2**20,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not account_sid or not auth_token:
            raise NotConfigured("impact.com credentials are not set for this account.")
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.interactive_timeout = interactive_timeout
        self.read_retries = read_retries
        self.max_retry_wait = max_retry_wait
        self.page_size = page_size
        self.max_body_bytes = max_body_bytes
        self.sleep = sleep
        self.last_rate_limit: RateLimit | None = None
        self.session = session or requests.Session()
        self.session.auth = (account_sid, auth_token)
        self.redactor = Redactor(account_sid, auth_token)
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if api_version:
            # Pinned, so impact.com's answers keep the shapes this module parses even when the
            # account's default API version is upgraded.
            self.session.headers["IR-Version"] = api_version

    @property
    def over_network(self) -> bool:
        """True unless this is the in-process sandbox (which answers from our own database)."""
        return self.base_url != IN_PROCESS_SANDBOX_URL

    def __repr__(self) -> str:  # never show the token
        return f"<ImpactClient {self.account_sid} at {self.base_url}>"

    @property
    def collection_path(self) -> str:
        return f"/Advertisers/{self.account_sid}/TrackingValueRequests"

    def request_path(self, request_id: str | int) -> str:
        return f"{self.collection_path}/{request_id}"

    # -- reads --

    def iter_pages(
        self,
        *,
        campaign_id: int | None = None,
        deal_id: int | None = None,
        media_partner_id: int | None = None,
        state: str | None = None,
        request_type: str | None = None,
        page_size: int | None = None,
        retries: int | None = None,
    ) -> Iterator[RequestPage]:
        """Yield pages lazily, following `@nextpageuri` until impact.com says there are no more.

        A next-page link to another scheme, host or port raises UnsafeNextPage before anything
        is sent there: following it would hand the credentials to whoever runs that host.
        """
        params = {
            "CampaignId": campaign_id,
            "DealId": deal_id,
            "MediaPartnerId": media_partner_id,
            "State": state,
            "RequestType": request_type,
            "Page": 1,
            "PageSize": page_size or self.page_size,
        }
        url: str = self.collection_path
        query: dict[str, Any] | None = {k: v for k, v in params.items() if v not in (None, "")}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = self._read("GET", url, params=query, retries=retries)
            page = self._parse_page(body)
            yield page
            next_url = page.next_uri
            if not next_url and page.num_pages is not None and page.page < page.num_pages:
                # No link but more pages announced: ask for the next page number ourselves.
                query = dict(query or {}, Page=page.page + 1)
            elif next_url and next_url not in seen:
                seen.add(next_url)
                url, query = self._same_origin(next_url), None
            else:
                return
        raise Unavailable(
            f"impact.com kept announcing a next page of requests past {MAX_PAGES} pages; "
            "the walk was stopped."
        )

    def list_requests(self, **filters: Any) -> Iterator[TrackingValueRequest]:
        """Every request matching the filters, across all pages, one at a time."""
        for page in self.iter_pages(**filters):
            yield from page.items

    def get_request(
        self,
        request_id: str | int,
        *,
        retries: int | None = None,
        deadline: Deadline | None = None,
    ) -> TrackingValueRequest:
        """One request; with a deadline, the read ends by then (and is not retried)."""
        body = self._read("GET", self.request_path(request_id), retries=retries, deadline=deadline)
        if not isinstance(body, Mapping):
            raise Unavailable("impact.com sent something other than a tracking value request.")
        return TrackingValueRequest.parse(body)

    # -- writes: a person is waiting, and a second send could approve twice --

    def approve(
        self, request_id: str | int, approval: Approval, *, deadline: Deadline | None = None
    ) -> WriteResult:
        data = approval.form_data()
        return self._write("PUT", self.request_path(request_id), data=data, deadline=deadline)

    def reject(self, request_id: str | int, *, deadline: Deadline | None = None) -> WriteResult:
        return self._write("DELETE", self.request_path(request_id), deadline=deadline)

    # -- the account --

    def company_information(self, *, deadline: Deadline | None = None) -> CompanyInformation:
        """Who the account is; also the cheapest proof that the SID and token work."""
        path = f"/Advertisers/{self.account_sid}/CompanyInformation"
        body = self._read("GET", path, deadline=deadline)
        return CompanyInformation.parse(_cleaned(body, self.redactor))

    def list_tracking_values(self, kind: str) -> Iterator[TrackingValue]:
        """Every unique URL ("url"), phone number ("phone") or promo code ("code") of the
        account, across all pages. Records without an id are skipped."""
        resource, key = TRACKING_VALUE_RESOURCES[kind]
        url = f"/Advertisers/{self.account_sid}/{resource}"
        query: dict[str, Any] | None = {"Page": 1, "PageSize": self.page_size}
        seen: set[str] = set()
        while True:
            if len(seen) >= MAX_PAGES:
                raise Unavailable(
                    f"impact.com's {resource} kept linking a next page past "
                    f"{MAX_PAGES} pages; the list was not read."
                )
            body = self._read("GET", url, params=query)
            if not isinstance(body, Mapping) or not isinstance(body.get(key), list):
                raise Unavailable(f"impact.com's {resource} answer has no {key} array.")
            for raw in _records(_cleaned(body[key], self.redactor)):
                value = TrackingValue.parse(kind, raw)
                if value is not None:
                    yield value
            next_url = _text(body.get("@nextpageuri")).strip()
            if not next_url or next_url in seen:
                return
            seen.add(next_url)
            url, query = self._same_origin(next_url), None

    # -- plumbing --

    def _url(self, path: str) -> str:
        return urljoin(self.base_url + "/", path.lstrip("/"))

    def _same_origin(self, link: str) -> str:
        """The next-page link, if it stays on the configured base; else UnsafeNextPage."""
        base, target = urlsplit(self.base_url), urlsplit(urljoin(self.base_url + "/", link))
        if (target.scheme, target.hostname, target.port) != (base.scheme, base.hostname, base.port):
            # The host as sent (hostname is lower-cased, which a token's cut would miss).
            host = target.netloc.rpartition("@")[2] or "?"
            raise UnsafeNextPage(
                f"impact.com's next-page link points to another server ({target.scheme}://"
                f"{self.redactor.text(host)}); it was not followed, so the "
                "sync stopped and nothing was marked gone."
            )
        return target.geturl()

    def _read(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        retries: int | None = None,
        deadline: Deadline | None = None,
    ) -> Any:
        attempts = 1 if deadline else 1 + (self.read_retries if retries is None else retries)
        for attempt in range(1, attempts + 1):
            try:
                return self._send(method, path, params=params, deadline=deadline)
            except (RateLimited, Unavailable) as error:
                if attempt == attempts:
                    raise
                wait = self._backoff(attempt, getattr(error, "retry_after", None))
                if wait is None:
                    raise
                logger.info(
                    "impact.com %s %s failed (%s); retry %d in %.1fs",
                    method,
                    path,
                    error.message,
                    attempt,
                    wait,
                )
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _write(
        self,
        method: str,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        deadline: Deadline | None = None,
    ) -> WriteResult:
        deadline = deadline or Deadline(self.interactive_timeout)
        for attempt in range(1, 3):
            try:
                body = self._send(method, path, data=data, deadline=deadline, write=True)
            except Unavailable as error:
                # Only a connection never made is safe to try again.
                if error.maybe_sent or attempt == 2 or deadline.passed:
                    raise
                logger.info("impact.com %s %s could not connect; trying once more", method, path)
                continue
            return _confirmation(body)
        raise AssertionError("unreachable")

    def _read_body(self, response: requests.Response, deadline: Deadline | None) -> bytes:
        """The whole answer, refusing one larger than max_body_bytes (a runaway page) or one
        still arriving when the deadline passes (a server dripping bytes)."""
        limit = self.max_body_bytes
        declared = _int(response.headers.get("Content-Length"))
        body = bytearray()
        if declared is None or declared <= limit:
            for chunk in response.iter_content(1 << 16):
                body += chunk
                if len(body) > limit:
                    break
                if deadline is not None and deadline.passed:
                    response.close()
                    raise requests.exceptions.ReadTimeout("the answer did not finish in time")
        if len(body) > limit or (declared or 0) > limit:
            response.close()
            raise Unavailable(
                f"impact.com sent an answer larger than {limit / 2**20:g} MiB; it was not read.",
                status=response.status_code,
                maybe_sent=True,
            )
        return self.redactor.bytes(bytes(body))

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_wait else None
        return min(self.max_retry_wait, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)

    def _timeout(self, deadline: Deadline | None) -> Timeout:
        if deadline is None:
            return Timeout(connect=self.connect_timeout, read=self.read_timeout)
        left = deadline.remaining()
        if left <= 0:
            raise Unavailable("There was no time left to ask impact.com.")
        # `total` bounds connecting plus waiting for the answer's headers together.
        return Timeout(connect=min(self.connect_timeout, left), read=left, total=left)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        deadline: Deadline | None = None,
        write: bool = False,
    ) -> Any:
        """One HTTP call; a write's failure after it may have left is OutcomeUnknown."""

        def lost(message: str, status: int | None = None) -> Unavailable:
            # The request may have reached impact.com: a read may be retried, a write not.
            if write:
                return OutcomeUnknown(message, status=status)
            return Unavailable(message, status=status, maybe_sent=True)

        timeout = self._timeout(deadline)
        try:
            response = self.session.request(
                method, self._url(path), params=params, data=data, timeout=timeout, stream=True
            )
            content = self._read_body(response, deadline)
        except requests.exceptions.ConnectTimeout:
            raise Unavailable("impact.com could not be reached (connection timed out).") from None
        except requests.exceptions.Timeout:
            raise lost(
                f"impact.com did not answer within {timeout.read_timeout:.3g} seconds."
            ) from None
        except requests.exceptions.ConnectionError as error:
            if _never_connected(error):
                raise Unavailable("impact.com could not be reached.") from None
            raise lost("The connection to impact.com broke before it answered.") from None
        except requests.exceptions.RequestException as error:
            raise lost(f"The call to impact.com failed: {type(error).__name__}.") from None
        except Unavailable as error:  # an oversized answer: it was sent and answered
            raise lost(error.message, error.status) from None

        self.last_rate_limit = RateLimit.from_headers(response.headers) or self.last_rate_limit
        status = response.status_code
        if 200 <= status < 300:
            try:
                return decode_json(content) if content else {}
            except ValueError:
                raise lost(
                    f"impact.com answered {status} with a body that is not JSON.", status
                ) from None
        message, errors = _error_message(content, self.redactor)
        if status == 429:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            wait = f" Try again in {retry_after:g} seconds." if retry_after is not None else ""
            raise RateLimited(
                f"impact.com's rate limit was reached.{wait}", retry_after=retry_after
            )
        if status in (401, 403):
            raise AuthenticationFailed(
                message or "impact.com refused the account SID and token.", status=status
            )
        if status == 404:
            raise NotFound(
                message or "impact.com has no such tracking value request.", status=status
            )
        if 400 <= status < 500:
            raise Rejected(
                message or f"impact.com refused the call ({status}).", status=status, errors=errors
            )
        raise lost(
            f"impact.com is having trouble ({status}{': ' + message if message else ''}).", status
        )

    def _parse_page(self, body: Any) -> RequestPage:
        if not isinstance(body, Mapping) or not isinstance(body.get("TrackingValueRequests"), list):
            raise Unavailable("impact.com's list answer has no TrackingValueRequests array.")
        return RequestPage(
            records=tuple(_records(body["TrackingValueRequests"])),
            page=_int(body.get("@page")) or 1,
            num_pages=_int(body.get("@numpages")),
            page_size=_int(body.get("@pagesize")),
            total=_int(body.get("@total")),
            next_uri=_text(body.get("@nextpageuri")).strip(),
            rate_limit=self.last_rate_limit,
        )


def _confirmation(body: Any) -> WriteResult:
    """The documented confirmation of a write, `{"Status": "OK", "Uri": ...}`, or impact.com's
    queued form with `QueuedUri`; any other 2xx body leaves the outcome unknown."""
    if isinstance(body, Mapping):
        queued = _text(body.get("QueuedUri")).strip()
        if queued:
            return WriteResult(uri=queued, queued=True)
        uri = _text(body.get("Uri")).strip()
        if uri or _text(body.get("Status")).strip().upper() == "OK":
            return WriteResult(uri=uri)
    raise OutcomeUnknown("impact.com answered without the confirmation it documents.", status=200)


def _never_connected(error: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection was never established, so nothing was sent."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    reason: Any = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    number = _decimal(value)
    if number is not None:
        return max(0.0, float(number))
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_message(content: bytes, redactor: Redactor) -> tuple[str, tuple[FieldError, ...]]:
    """impact.com's own Message and field Errors; nothing from a non-JSON error page.

    The credentials were already cut out of the body (`Redactor`), so a server that echoes
    them back cannot carry them into our messages, pages, logs or audit trail.
    """
    try:
        body = json.loads(content)
    except ValueError:
        return "", ()
    if not isinstance(body, Mapping):
        return "", ()
    # Decoded, a JSON-escaped echo of the credentials is whole again: cut it out before
    # the message is cut short, which could leave a part of it.
    errors = tuple(
        FieldError(
            field=redactor.text(_text(e.get("Field"))),
            message=redactor.text(_text(e.get("Message"))),
        )
        for e in _records(body.get("Errors"))
    )
    return redactor.text(_text(body.get("Message"))).strip()[:500], errors


# --- configuration ----------------------------------------------------------------------------


def uses_sandbox() -> bool:
    """True when no impact.com credentials are set: the built-in sandbox answers."""
    return not (settings.IMPACT_ACCOUNT_SID and settings.IMPACT_AUTH_TOKEN)


def default_account_sid() -> str:
    return settings.IMPACT_SANDBOX_ACCOUNT_SID if uses_sandbox() else settings.IMPACT_ACCOUNT_SID


def client_for(
    *, account_sid: str, auth_token: str, base_url: str = "", session: Any = None
) -> ImpactClient:
    """A client for these credentials (base_url: IMPACT_API_BASE_URL when empty), with the
    timeouts, retries and paging from settings."""
    return ImpactClient(
        base_url=(base_url or settings.IMPACT_API_BASE_URL).rstrip("/"),
        account_sid=account_sid,
        auth_token=auth_token,
        connect_timeout=settings.IMPACT_CONNECT_TIMEOUT,
        read_timeout=settings.IMPACT_READ_TIMEOUT,
        interactive_timeout=settings.IMPACT_INTERACTIVE_TIMEOUT,
        read_retries=settings.IMPACT_READ_RETRIES,
        max_retry_wait=settings.IMPACT_MAX_RETRY_WAIT,
        page_size=settings.IMPACT_PAGE_SIZE,
        api_version=settings.IMPACT_API_VERSION,
        session=session,
    )


def get_client(account_sid: str | None = None) -> ImpactClient:
    """A client for the account.

    An account added in the app or with `manage.py add_account` talks to its own base URL
    (IMPACT_API_BASE_URL when it has none) with its own stored token. The account in the
    environment talks to IMPACT_API_BASE_URL; without credentials in the environment, the
    sandbox answers: in-process by default, or over HTTP when IMPACT_API_BASE_URL points
    somewhere other than api.impact.com (e.g. `run_sandbox` on 127.0.0.1:8765).
    """
    from requests_app.credentials import TokenUnreadable
    from requests_app.models import Account

    account_sid = account_sid or default_account_sid()
    stored = Account.objects.filter(sid=account_sid).exclude(token_encrypted="").first()
    if stored is not None:
        try:
            token = stored.auth_token()
        except TokenUnreadable as error:
            raise NotConfigured(str(error)) from None
        return client_for(account_sid=account_sid, auth_token=token, base_url=stored.base_url)
    if not uses_sandbox():
        if account_sid != settings.IMPACT_ACCOUNT_SID:
            raise NotConfigured(
                f"No impact.com credentials are configured for account {account_sid}."
            )
        return client_for(account_sid=account_sid, auth_token=settings.IMPACT_AUTH_TOKEN)
    if account_sid != settings.IMPACT_SANDBOX_ACCOUNT_SID:
        raise NotConfigured(
            f"The sandbox only serves account {settings.IMPACT_SANDBOX_ACCOUNT_SID}."
        )
    if settings.IMPACT_API_BASE_URL != "https://api.impact.com":
        return client_for(account_sid=account_sid, auth_token=settings.IMPACT_SANDBOX_AUTH_TOKEN)
    from requests_app.sandbox.transport import in_process_session

    return client_for(
        account_sid=account_sid,
        auth_token=settings.IMPACT_SANDBOX_AUTH_TOKEN,
        base_url=IN_PROCESS_SANDBOX_URL,
        session=in_process_session(),
    )
