"""Deterministic, realistic sandbox data: the same seed and day give the same requests.

Five campaigns in five currencies, dozens of partners (a few with hostile names), deals of every
DealType, DiscountType and DealScope (products, BOGO variants, restrictions, expired and pending
ones), all three request types in every state, requests without a deal, dates needed in the past
and the future, and partner text with HTML, script and long unicode so the UI proves it escapes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from django.db import transaction

from .models import SandboxRequest


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    currency: str
    utc_offset: int  # hours
    weight: int


CAMPAIGNS = (
    Campaign(1000, "Acme Outdoor US", "USD", -8, 50),
    Campaign(1001, "Acme Outdoor Canada", "CAD", -5, 15),
    Campaign(1002, "Acme Outdoor UK", "GBP", 0, 15),
    Campaign(1003, "Acme Outdoor Deutschland", "EUR", 1, 12),
    Campaign(1004, "Acme Outdoor Japan", "JPY", 9, 8),
)

_PARTNER_WORDS = (
    "Trail",
    "Summit",
    "Coupon",
    "Savvy",
    "Deal",
    "Ridge",
    "Camp",
    "Thrifty",
    "Peak",
    "Basecamp",
    "Voucher",
    "Wander",
    "Pine",
    "Frugal",
    "Alpine",
    "Canyon",
)
_PARTNER_KINDS = (
    "Deals Weekly",
    "Coupons",
    "Blog",
    "Rewards",
    "Podcast",
    "Cashback",
    "on YouTube",
    "Media",
    "Family Savers",
    "Newsletter",
)
HOSTILE_PARTNERS = (
    '<script>alert("partner")</script> Coupons',
    "<b>Bold</b> & <i>Brash</i> Deals",
    "Ωmega Déals — Ünïcödé Ŝavings 🎉 " + "長い名前のパートナー" * 4,
    '=HYPERLINK("http://evil.example","Click me")',
)
HOSTILE_INSTRUCTIONS = (
    '<script>alert("xss")</script>Please approve fast!',
    '<img src=x onerror="alert(1)"> see attached',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1) for the spreadsheet people",
    "Bitte schnell freischalten – wir starten am Montag. 🚀 " + "Ünïcödé " * 60,
)
INSTRUCTIONS = (
    "Please activate before the weekend.",
    "We are featuring this in our newsletter on the 1st.",
    "Need this live for a sponsored video going up Friday.",
    "Same code as last season if possible.",
    "Our audience is mostly in Canada, thanks!",
    "Exclusive code for our podcast listeners.",
    "Please match the landing page in the deal.",
    "",
)

_PRODUCTS = (
    ("Ridgeline 2 Tent", "ridgeline-tent", Decimal("249.00"), Decimal("199.00")),
    ("Summit Down Jacket", "summit-jacket", Decimal("189.95"), Decimal("139.95")),
    ("Trailhead Boots", "trailhead-boots", Decimal("159.00"), Decimal("119.25")),
    ("Canyon Daypack 24L", "canyon-daypack", Decimal("89.00"), Decimal("69.00")),
    ("Alpine Trekking Poles", "alpine-poles", Decimal("74.50"), Decimal("59.60")),
)
_CATEGORIES = ("Tents", "Jackets", "Footwear", "Backpacks", "Climbing", "Camp Kitchen")


def _deal_templates() -> list[dict[str, Any]]:
    """Every DealType, DiscountType and DealScope, with the variants a reviewer meets."""
    deals: list[dict[str, Any]] = []
    discounts = (
        {"DiscountType": "FIXED", "DiscountAmount": Decimal("15.00")},
        {"DiscountType": "PERCENT", "DiscountPercent": Decimal("20")},
        {
            "DiscountType": "PERCENT_RANGE",
            "DiscountPercentRangeStart": Decimal("10"),
            "DiscountPercentRangeEnd": Decimal("40"),
        },
        {"DiscountType": "PERCENT_MAXIMUM", "DiscountMaximumPercent": Decimal("50")},
    )
    for discount in discounts:
        for scope in ("ENTIRE_STORE", "CATEGORY", "PRODUCT"):
            deals.append({"DealType": "GENERAL_SALE", "DealScope": scope, **discount})
    deals += [
        {
            "DealType": "FREE_SHIPPING",
            "DealScope": "ENTIRE_STORE",
            "MinimumPurchase": Decimal("50"),
        },
        {"DealType": "FREE_SHIPPING", "DealScope": "CATEGORY"},
        {
            "DealType": "GIFT_WITH_PURCHASE",
            "DealScope": "ENTIRE_STORE",
            "Gift": "Insulated water bottle",
            "MinimumPurchase": Decimal("100"),
        },
        {"DealType": "GIFT_WITH_PURCHASE", "DealScope": "PRODUCT", "Gift": "Tent footprint"},
        {"DealType": "REBATE", "DealScope": "PRODUCT", "Rebate": Decimal("25.00")},
        {
            "DealType": "REBATE",
            "DealScope": "ENTIRE_STORE",
            "Rebate": Decimal("10.00"),
            "MinimumPurchase": Decimal("75"),
        },
        {
            "DealType": "BOGO",
            "BogoBuyScope": "PRODUCT",
            "BogoGetScope": "PRODUCT",
            "BogoGetDiscountType": "FREE",
            "BogoBuyQuantity": 1,
            "BogoGetQuantity": 1,
        },
        {
            "DealType": "BOGO",
            "BogoBuyScope": "CATEGORY",
            "BogoGetScope": "CATEGORY",
            "BogoGetDiscountType": "PERCENT",
            "BogoGetDiscountPercent": Decimal("50"),
            "BogoBuyQuantity": 2,
            "BogoGetQuantity": 1,
            "PurchaseLimitQuantity": 3,
        },
        {
            "DealType": "BOGO",
            "BogoBuyScope": "PRODUCT",
            "BogoGetScope": "CATEGORY",
            "BogoGetDiscountType": "AMOUNT",
            "BogoGetDiscount": Decimal("10.00"),
            "BogoBuyQuantity": 3,
            "BogoGetQuantity": 2,
            "PurchaseLimitQuantity": 1,
        },
    ]
    return deals


_DEAL_NAMES = {
    "GENERAL_SALE": ("Spring Sale", "Summit Savings", "Gear Up Event", "Trail Days", "Flash Sale"),
    "FREE_SHIPPING": ("Free Shipping Weekend", "Ship Free on Shoes"),
    "GIFT_WITH_PURCHASE": ("Free Bottle with Orders $100+", "Tent Bonus"),
    "REBATE": ("Tent Rebate", "Loyalty Rebate"),
    "BOGO": ("Buy One Get One Tents", "Backpack BOGO 50%", "Boots Bundle"),
}


class Seeder:
    """Builds wire-format payloads (numbers and money as strings, as impact.com sends them)."""

    def __init__(self, account_sid: str, seed: int, today: date) -> None:
        self.sid = account_sid
        self.rng = random.Random(seed)
        self.anchor = datetime.combine(today, time(12), tzinfo=UTC)
        self.partners = self._partners()
        self.deals = self._deals()

    def _partners(self) -> list[tuple[int, str]]:
        rng = self.rng
        names: list[str] = []
        while len(names) < 44:
            name = f"{rng.choice(_PARTNER_WORDS)} {rng.choice(_PARTNER_KINDS)}"
            if name not in names:
                names.append(name)
        names[5:5] = HOSTILE_PARTNERS
        return [(2_552_842 + 137 * i, name) for i, name in enumerate(names)]

    def _deals(self) -> dict[int, list[dict[str, Any]]]:
        rng = self.rng
        per_campaign: dict[int, list[dict[str, Any]]] = {c.id: [] for c in CAMPAIGNS}
        deal_id = 3000
        for campaign in CAMPAIGNS:
            for index, template in enumerate(_deal_templates()):
                # Bigger campaigns carry every deal shape; small ones a sample.
                if campaign.weight < 15 and rng.random() < 0.5:
                    continue
                deal_id += 1
                per_campaign[campaign.id].append(self._deal(deal_id, campaign, template, index))
        return per_campaign

    def _deal(
        self, deal_id: int, campaign: Campaign, t: dict[str, Any], index: int
    ) -> dict[str, Any]:
        rng = self.rng
        zone = timezone(timedelta(hours=campaign.utc_offset))
        cur = campaign.currency
        kind = t["DealType"]
        name = f"{rng.choice(_DEAL_NAMES[kind])} {2026 + index % 2}"
        state = rng.choices(("ACTIVE", "EXPIRED", "PENDING"), (80, 10, 10))[0]
        start = self.anchor - timedelta(days=rng.randint(10, 120))
        if state == "PENDING":
            start = self.anchor + timedelta(days=rng.randint(3, 20))
        end: datetime | None = start + timedelta(days=rng.randint(20, 180))
        if state == "EXPIRED":
            end = self.anchor - timedelta(days=rng.randint(1, 10))
        elif rng.random() < 0.2:
            end = self.anchor + timedelta(days=rng.randint(1, 4))  # ends before many dates needed
        elif rng.random() < 0.15:
            end = None
        elif end < self.anchor:
            end = self.anchor + timedelta(days=rng.randint(5, 90))
        scope = t.get("DealScope", "")
        products = []
        if scope == "PRODUCT" or t.get("BogoBuyScope") == "PRODUCT":
            for title, slug, before, after in rng.sample(_PRODUCTS, rng.randint(1, 3)):
                products.append(
                    {
                        "ProductName": title,
                        "ProductImageURL": f"https://cdn.acme-outdoor.example/img/{slug}.jpg",
                        "ProductBeforePriceAmount": _money(before, cur),
                        "ProductBeforePriceCurrency": cur,
                        "ProductAfterPriceAmount": _money(after, cur),
                        "ProductAfterPriceCurrency": cur,
                    }
                )
        categories = ""
        if scope == "CATEGORY" or "CATEGORY" in (t.get("BogoBuyScope"), t.get("BogoGetScope")):
            categories = ", ".join(rng.sample(_CATEGORIES, rng.randint(1, 3)))
        restricted: list[str] = []
        if rng.random() < 0.15:
            restricted = [name for _, name in rng.sample(self.partners, 3)]
        blank = _blank_deal()
        deal = {
            **blank,
            "DealId": str(deal_id),
            "DealName": name,
            "DealDescription": f"{name}: {kind.replace('_', ' ').lower()} on {campaign.name}.",
            "DealState": state,
            "DealType": kind,
            "DealScope": scope,
            "DealProducts": products,
            "DealCategories": categories,
            "DiscountType": t.get("DiscountType", ""),
            "DealStartDate": start.astimezone(zone).isoformat(timespec="seconds"),
            "DealEndDate": end.astimezone(zone).isoformat(timespec="seconds") if end else "",
            "DealDefaultPromoCode": f"{name.split()[0].upper()}{rng.randint(10, 40)}"
            if rng.random() < 0.6
            else "",
            "SynchAdsPromoCodes": rng.choice(("true", "false")),
            "DealRestrictedMediaPartners": restricted,
            "DealRestrictedMediaPartnerGroups": ["Content Creators"]
            if restricted and rng.random() < 0.5
            else [],
        }
        if "DiscountAmount" in t:
            deal.update(DiscountAmount=_money(t["DiscountAmount"], cur), DiscountCurrency=cur)
        for key in (
            "DiscountPercent",
            "DiscountMaximumPercent",
            "DiscountPercentRangeStart",
            "DiscountPercentRangeEnd",
            "BogoGetDiscountPercent",
        ):
            if key in t:
                deal[key] = str(t[key])
        if "Gift" in t:
            deal["Gift"] = t["Gift"]
        if "Rebate" in t:
            deal.update(RebateAmount=_money(t["Rebate"], cur), RebateCurrency=cur)
        if "MinimumPurchase" in t or rng.random() < 0.3:
            amount = t.get("MinimumPurchase", Decimal(rng.choice((25, 50, 75))))
            deal.update(
                MinimumPurchaseAmount=_money(amount, cur), MinimumPurchaseAmountCurrency=cur
            )
        if t.get("DiscountType", "").startswith("PERCENT") and rng.random() < 0.5:
            deal.update(
                MaximumSavingsAmount=_money(Decimal(rng.choice((30, 50, 100))), cur),
                MaximumSavingsCurrency=cur,
            )
        if kind == "BOGO":
            buy = (
                rng.choice(_PRODUCTS)[0]
                if t["BogoBuyScope"] == "PRODUCT"
                else rng.choice(_CATEGORIES)
            )
            get = (
                rng.choice(_PRODUCTS)[0]
                if t["BogoGetScope"] == "PRODUCT"
                else rng.choice(_CATEGORIES)
            )
            deal.update(
                BogoBuyQuantity=str(t["BogoBuyQuantity"]),
                BogoBuyScope=t["BogoBuyScope"],
                BogoBuyName=buy,
                BogoBuyImageUrl="https://cdn.acme-outdoor.example/img/bogo-buy.jpg",
                BogoGetQuantity=str(t["BogoGetQuantity"]),
                BogoGetScope=t["BogoGetScope"],
                BogoGetDiscountType=t["BogoGetDiscountType"],
                BogoGetName=get,
                BogoGetImageUrl="https://cdn.acme-outdoor.example/img/bogo-get.jpg",
            )
            if "BogoGetDiscount" in t:
                deal.update(
                    BogoGetDiscountAmount=_money(t["BogoGetDiscount"], cur),
                    BogoGetDiscountCurrency=cur,
                )
            if "PurchaseLimitQuantity" in t:
                deal["PurchaseLimitQuantity"] = str(t["PurchaseLimitQuantity"])
        return deal

    def request(self, request_id: int) -> dict[str, Any]:
        rng = self.rng
        campaign = rng.choices(CAMPAIGNS, [c.weight for c in CAMPAIGNS])[0]
        zone = timezone(timedelta(hours=campaign.utc_offset))
        partner_id, partner_name = rng.choice(self.partners)
        request_type = rng.choices(
            ("PROMOCODE_TRACKING", "BRANDED_URL_TRACKING", "PHONE_NUMBER_TRACKING"), (60, 25, 15)
        )[0]
        state = rng.choices(("NEW", "APPROVED", "COMPLETED", "DECLINED"), (30, 35, 20, 15))[0]
        # Open requests are recent, so their dates needed fall both before and after today.
        age = rng.uniform(0, 20) if state == "NEW" else rng.uniform(3, 180)
        placed = self.anchor - timedelta(days=age, minutes=rng.randint(0, 600))
        needed = placed + timedelta(days=rng.uniform(2, 25))
        completed = None
        if state != "NEW":
            completed = min(placed + timedelta(days=rng.uniform(0.1, 6)), self.anchor)
        deal = rng.choice(self.deals[campaign.id]) if rng.random() < 0.7 else None
        number = (
            1 if request_type == "PROMOCODE_TRACKING" or rng.random() < 0.7 else rng.randint(2, 5)
        )
        decided = state in ("APPROVED", "COMPLETED")
        instructions: str | None = (
            rng.choice(HOSTILE_INSTRUCTIONS) if rng.random() < 0.04 else rng.choice(INSTRUCTIONS)
        )
        if instructions == "" and rng.random() < 0.5:
            instructions = None
        payload: dict[str, Any] = {
            "Id": str(request_id),
            "CampaignId": str(campaign.id),
            "CampaignName": campaign.name,
            "MediaPartnerId": str(partner_id),
            "MediaPartnerName": partner_name,
            "RequestType": request_type,
            "NumberRequested": str(number),
            "PromoCodes": [],
            "UniqueUrls": [],
            "PhoneNumbers": [],
            "State": state,
            "DatePlaced": placed.astimezone(zone).isoformat(timespec="seconds"),
            "DateNeeded": needed.astimezone(zone).isoformat(timespec="seconds"),
            "DateCompleted": completed.astimezone(zone).isoformat(timespec="seconds")
            if completed
            else None,
            "AdditionalInstructions": instructions,
            "ProcessingComments": {"NEW": None, "DECLINED": "Declined"}.get(state, "Approved"),
            **(deal or _blank_deal()),
            "Uri": f"/Advertisers/{self.sid}/TrackingValueRequests/{request_id}",
        }
        slug = "".join(ch for ch in partner_name.upper() if "A" <= ch <= "Z")[:8] or "PARTNER"
        for n in range(number):
            item_id = str(request_id * 10 + n)
            if request_type == "PROMOCODE_TRACKING":
                wanted = ""
                if rng.random() < 0.8:
                    wanted = f"{slug}{rng.randint(10, 99)}"
                regex = decided and rng.random() < 0.1
                approved = (
                    (f"^{slug}[0-9]{{2}}$" if regex else wanted or f"{slug}{n}") if decided else ""
                )
                payload["PromoCodes"].append(
                    {
                        "Id": item_id,
                        "RequestedPromoCode": wanted,
                        "ApprovedPromoCode": approved,
                        "CreditPolicy": rng.choice(("ALWAYS", "INVOLVED", "WINNER"))
                        if decided
                        else "",
                        "MatchMode": ("RE" if regex else "LI") if decided else "",
                    }
                )
            elif request_type == "BRANDED_URL_TRACKING":
                url = (
                    f"https://www.acme-outdoor.example/p/{slug.lower()}-{n + 1}"
                    if rng.random() < 0.6
                    else ""
                )
                entry = {"Id": item_id, "Url": url}
                if decided:
                    url_id = 70_000 + rng.randint(1, 9999)
                    entry.update(
                        Url=url or f"https://go.acme-outdoor.example/r/{url_id}", UrlId=str(url_id)
                    )
                payload["UniqueUrls"].append(entry)
            else:
                entry = {"Id": item_id, "AssignedPhoneNumberId": "", "AssignedPhoneNumber": ""}
                if decided:
                    number_id = 40_000 + rng.randint(1, 9999)
                    entry.update(
                        AssignedPhoneNumberId=str(number_id),
                        AssignedPhoneNumber=f"+1 805 {rng.randint(200, 999)} "
                        f"{rng.randint(0, 9999):04d}",
                    )
                payload["PhoneNumbers"].append(entry)
        return payload


def _blank_deal() -> dict[str, Any]:
    """A request with no deal carries every deal field as an empty string, as impact.com does."""
    text_fields = [
        "DealName",
        "DealDescription",
        "DealState",
        "DealType",
        "DealScope",
        "DealCategories",
        "DiscountType",
        "DiscountAmount",
        "DiscountCurrency",
        "DiscountPercent",
        "DiscountMaximumPercent",
        "DiscountPercentRangeStart",
        "DiscountPercentRangeEnd",
        "Gift",
        "RebateAmount",
        "RebateCurrency",
        "DealDefaultPromoCode",
        "MinimumPurchaseAmount",
        "MinimumPurchaseAmountCurrency",
        "MaximumSavingsAmount",
        "MaximumSavingsCurrency",
        "BogoBuyQuantity",
        "BogoBuyScope",
        "BogoBuyName",
        "BogoBuyImageUrl",
        "BogoGetQuantity",
        "BogoGetScope",
        "BogoGetDiscountType",
        "BogoGetName",
        "BogoGetImageUrl",
        "BogoGetDiscountAmount",
        "BogoGetDiscountCurrency",
        "BogoGetDiscountPercent",
        "PurchaseLimitQuantity",
        "DealStartDate",
        "DealEndDate",
        "SynchAdsPromoCodes",
    ]
    return {
        "DealId": None,
        **dict.fromkeys(text_fields, ""),
        "DealProducts": [],
        "DealRestrictedMediaPartners": [],
        "DealRestrictedMediaPartnerGroups": [],
    }


def _money(amount: Decimal, currency: str) -> str:
    return str(amount.quantize(Decimal("1"))) if currency == "JPY" else f"{amount * 1:.2f}"


FIRST_ID = 210_001


def seed(
    account_sid: str, *, count: int, seed: int = 1, reset: bool = False, today: date | None = None
) -> int:
    """Create `count` requests for the account; returns how many exist afterwards."""
    seeder = Seeder(account_sid, seed, today or datetime.now(UTC).date())
    rows = SandboxRequest.objects.filter(account_sid=account_sid)
    with transaction.atomic():
        if reset:
            rows.delete()
        start = (
            rows.order_by("-impact_id").values_list("impact_id", flat=True).first() or FIRST_ID - 1
        ) + 1
        batch: list[SandboxRequest] = []
        for request_id in range(start, start + count):
            batch.append(row_for(account_sid, seeder.request(request_id)))
            if len(batch) == 2000:
                SandboxRequest.objects.bulk_create(batch)
                batch.clear()
        SandboxRequest.objects.bulk_create(batch)
    return rows.count()


def row_for(account_sid: str, payload: dict[str, Any]) -> SandboxRequest:
    """A sandbox row for a wire payload, with its filter columns filled in."""

    def number(key: str) -> int | None:
        value = str(payload.get(key) or "")
        return int(value) if value.isdigit() else None

    codes = [p.get("ApprovedPromoCode") or "" for p in payload.get("PromoCodes") or []]
    return SandboxRequest(
        account_sid=account_sid,
        impact_id=int(payload["Id"]),
        campaign_id=number("CampaignId"),
        media_partner_id=number("MediaPartnerId"),
        deal_id=number("DealId"),
        state=payload.get("State") or "NEW",
        request_type=payload.get("RequestType") or "",
        approved_code=next((c.upper() for c in codes if c), "")
        if payload.get("State") in ("APPROVED", "COMPLETED")
        else "",
        payload=payload,
    )
