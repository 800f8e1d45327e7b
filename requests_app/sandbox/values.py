"""The sandbox account's company information and tracking values, as impact.com lists them.

Unique URLs, phone numbers and promo codes are a fixed pool of available ones plus whatever the
account's decided requests assigned (read from the requests on every call, so an approve in the
sandbox shows up in the lists at once). Field names follow impact.com's objects and the public
clients that read them (tap-impact's schemas): `Code`/`Type` for promo codes, `Number` for phone
numbers, `Url`/`LandingPage` for unique URLs; numbers are strings, as impact.com sends them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .models import SandboxRequest
from .seed import CAMPAIGNS, Seeder

URL_POOL = range(880_001, 880_037)
PHONE_POOL = range(440_001, 440_025)
FIRST_CODE_ID = 7_000_001
_LANDING = ("tents", "jackets", "footwear", "backpacks", "climbing", "camp-kitchen")
_CREATED = "2026-01-05T09:00:00-08:00"
# Codes the account gave partners directly (not through a request): (code, Type, policy, partner).
STANDALONE_CODES = (
    ("TRAIL10", "LI", "ALWAYS", 0),
    ("SUMMIT15", "LI", "INVOLVED", 1),
    ("CAMP2026", "LI", "WINNER", 2),
    ("PEAK20", "LI", "INVOLVED", 3),
    ("WELCOME5", "LI", "ALWAYS", 4),
    ("FALL[0-9]{2}", "RE", "INVOLVED", 6),
    ("ALPINE25", "LI", "INVOLVED", 8),
    ("SPRING30", "LI", "WINNER", 9),
)


def phone_number_for(number_id: int) -> str:
    """The tracking number behind an id (the approve handler assigns the same one)."""
    return f"+1 805 {number_id % 900 + 100} {number_id % 10000:04d}"


def company_information(sid: str) -> dict[str, Any]:
    address = {
        "AddressLine1": "100 Trailhead Way",
        "AddressLine2": "",
        "City": "Ventura",
        "State": "CA",
        "PostalCode": "93001",
        "Country": "US",
    }
    contact = {
        "UserId": "1001",
        "Name": "Riley Programs",
        "Email": "partners@acme-outdoor.example",
        "WorkPhoneNumber": "+1 805 555 0100",
        "WorkPhoneNumberCountry": "US",
        "CellPhoneNumber": "",
        "CellPhoneNumberCountry": "",
    }
    return {
        "CompanyName": "Acme Outdoor Co. (sandbox)",
        "Website": "https://www.acme-outdoor.example",
        "PrimaryPhoneNumber": "+1 805 555 0100",
        "PrimaryPhoneNumberCountry": "US",
        "SecondaryPhoneNumber": "",
        "SecondaryPhoneNumberCountry": "",
        "Timezone": "America/Los_Angeles",
        "Currency": "USD",
        "RegisteredForIndirectTax": "false",
        "IndirectTaxNumber": "",
        "OrganizationType": "CORP",
        "EinSsnForeignTaxId": "",
        "MinimumContactRating": "0",
        "Industry": {"IndustryId": "12", "IndustryName": "Sports & Outdoors"},
        "CorporateAddress": address,
        "BillingAddress": address,
        "CommercialContact": contact,
        "FinancialContact": contact,
        "TechnicalContact": contact,
        "Uri": f"/Advertisers/{sid}/CompanyInformation",
    }


def _decided(sid: str, request_type: str):
    return (
        SandboxRequest.objects.filter(
            account_sid=sid, request_type=request_type, state__in=("APPROVED", "COMPLETED")
        )
        .order_by("impact_id")
        .values_list("payload", flat=True)
    )


def _campaign(index: int) -> tuple[str, str]:
    campaign = CAMPAIGNS[index % len(CAMPAIGNS)]
    return str(campaign.id), campaign.name


def unique_urls(sid: str) -> list[dict[str, Any]]:
    assigned: dict[str, dict[str, Any]] = {}
    for payload in _decided(sid, "BRANDED_URL_TRACKING"):
        for entry in payload.get("UniqueUrls") or []:
            url_id = str(entry.get("UrlId") or "")
            if url_id.isdigit():
                assigned[url_id] = {
                    "Url": entry.get("Url") or f"https://go.acme-outdoor.example/r/{url_id}",
                    "CampaignId": str(payload.get("CampaignId") or ""),
                    "CampaignName": payload.get("CampaignName") or "",
                    "MediaPartnerId": str(payload.get("MediaPartnerId") or ""),
                    "MediaPartnerName": payload.get("MediaPartnerName") or "",
                    "DateLastAssigned": payload.get("DateCompleted") or "",
                }
    records = []
    for index, number in enumerate(URL_POOL):
        campaign_id, campaign_name = _campaign(index)
        records.append(
            {
                "Id": str(number),
                "Url": f"https://go.acme-outdoor.example/r/{number}",
                "LandingPage": f"https://www.acme-outdoor.example/c/{_LANDING[index % 6]}",
                "CampaignId": campaign_id,
                "CampaignName": campaign_name,
                "State": "AVAILABLE",
                "MediaPartnerId": "",
                "MediaPartnerName": "",
                "DateCreated": _CREATED,
                "DateLastAssigned": "",
                "DateLastReleased": "",
            }
        )
    by_id = {r["Id"]: r for r in records}
    for url_id, fields in assigned.items():
        fresh = {"Id": url_id, "LandingPage": "https://www.acme-outdoor.example/"}
        record = by_id.setdefault(url_id, fresh | {"DateCreated": _CREATED, "DateLastReleased": ""})
        record.update(fields, State="INUSE")
    return [_with_uri(r, sid, "UniqueUrls") for r in sorted(by_id.values(), key=_numeric_id)]


def phone_numbers(sid: str) -> list[dict[str, Any]]:
    assigned: dict[str, dict[str, Any]] = {}
    for payload in _decided(sid, "PHONE_NUMBER_TRACKING"):
        for entry in payload.get("PhoneNumbers") or []:
            number_id = str(entry.get("AssignedPhoneNumberId") or "")
            if number_id.isdigit():
                assigned[number_id] = {
                    "MediaPartnerId": str(payload.get("MediaPartnerId") or ""),
                    "MediaPartnerName": payload.get("MediaPartnerName") or "",
                    "LastDateAssigned": payload.get("DateCompleted") or "",
                    "State": "INUSE",
                }
    by_id: dict[str, dict[str, Any]] = {}
    for number_id in [str(n) for n in PHONE_POOL] + list(assigned):
        number = phone_number_for(int(number_id))
        by_id[number_id] = {
            "Id": number_id,
            "Number": number,
            "InternationalNumber": number,
            "Country": "US",
            "State": "AVAILABLE",
            "MediaPartnerId": "",
            "MediaPartnerName": "",
            "DateCreated": _CREATED,
            "LastDateAssigned": "",
            "LastDateReleased": "",
        } | assigned.get(number_id, {})
    return [_with_uri(r, sid, "PhoneNumbers") for r in sorted(by_id.values(), key=_numeric_id)]


def promo_codes(sid: str) -> list[dict[str, Any]]:
    partners = Seeder(sid, 1, datetime.now(UTC).date()).partners
    records = []
    for offset, (code, kind, policy, partner) in enumerate(STANDALONE_CODES):
        partner_id, partner_name = partners[partner % len(partners)]
        campaign_id, campaign_name = _campaign(offset)
        records.append(
            _code(FIRST_CODE_ID + offset, code, kind, policy, campaign_id, campaign_name,
                  str(partner_id), partner_name, _CREATED)
        )  # fmt: skip
    for payload in _decided(sid, "PROMOCODE_TRACKING"):
        for index, entry in enumerate(payload.get("PromoCodes") or []):
            code = entry.get("ApprovedPromoCode") or entry.get("ApprovedCode") or ""
            if not code:
                continue
            records.append(
                _code(
                    int(payload["Id"]) * 10 + index + 1,
                    code,
                    (entry.get("MatchMode") or "LI").upper(),
                    (entry.get("CreditPolicy") or "INVOLVED").upper(),
                    str(payload.get("CampaignId") or ""),
                    payload.get("CampaignName") or "",
                    str(payload.get("MediaPartnerId") or ""),
                    payload.get("MediaPartnerName") or "",
                    payload.get("DateCompleted") or _CREATED,
                )
            )
    return [_with_uri(r, sid, "PromoCodes") for r in records]


def _code(
    code_id, code, kind, policy, campaign_id, campaign_name, partner_id, partner_name, created
) -> dict[str, Any]:
    return {
        "Id": str(code_id),
        "Code": code,
        "Type": kind,
        "CreditPolicy": policy,
        "CampaignId": campaign_id,
        "CampaignName": campaign_name,
        "AssignedPartnerId": partner_id,
        "AssignedPartnerName": partner_name,
        "CreatedDate": created,
        "StartDate": created,
        "EndDate": "",
        "State": "ACTIVE",
        "DealId": "",
        "DealName": "",
    }


def _numeric_id(record: dict[str, Any]) -> int:
    return int(record["Id"])


def _with_uri(record: dict[str, Any], sid: str, resource: str) -> dict[str, Any]:
    return record | {"Uri": f"/Advertisers/{sid}/{resource}/{record['Id']}"}
