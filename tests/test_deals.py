"""Deal summaries for every DealType, DiscountType and DealScope, with their warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from requests_app import deals
from requests_app.impact import Deal, Money

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def deal(**fields) -> Deal:
    raw = {"DealId": "3001", "DealName": "Spring Sale", "DealState": "ACTIVE", **fields}
    return Deal.parse(raw)


def summary(d: Deal, **kwargs) -> deals.DealSummary:
    return deals.summarize(d, now=NOW, **kwargs)


DISCOUNTS = {
    "FIXED": ({"DiscountAmount": "15.00", "DiscountCurrency": "USD"}, "$15.00 off"),
    "PERCENT": ({"DiscountPercent": "20"}, "20% off"),
    "PERCENT_RANGE": (
        {"DiscountPercentRangeStart": "10", "DiscountPercentRangeEnd": "40"},
        "10%–40% off",
    ),
    "PERCENT_MAXIMUM": ({"DiscountMaximumPercent": "50"}, "up to 50% off"),
}


@pytest.mark.parametrize("discount_type", DISCOUNTS)
@pytest.mark.parametrize(
    ("scope", "extra", "scope_text"),
    [
        ("ENTIRE_STORE", {}, "the entire store"),
        ("CATEGORY", {"DealCategories": "Tents, Jackets"}, "Tents, Jackets"),
        ("PRODUCT", {"DealProducts": [{"ProductName": "Ridgeline Tent"}]}, "Ridgeline Tent"),
    ],
)
def test_general_sale_sentence_for_every_discount_and_scope(
    discount_type, scope, extra, scope_text
):
    fields, text = DISCOUNTS[discount_type]
    s = summary(
        deal(
            DealType="GENERAL_SALE", DealScope=scope, DiscountType=discount_type, **fields, **extra
        )
    )
    assert text.casefold() in s.sentence.casefold()
    assert scope_text in s.sentence
    assert s.sentence.endswith(".")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"DealType": "FREE_SHIPPING", "DealScope": "ENTIRE_STORE"},
            "Free shipping on the entire store",
        ),
        (
            {"DealType": "GIFT_WITH_PURCHASE", "DealScope": "ENTIRE_STORE", "Gift": "Water bottle"},
            "Free gift with purchase: Water bottle",
        ),
        (
            {
                "DealType": "REBATE",
                "DealScope": "PRODUCT",
                "RebateAmount": "25",
                "RebateCurrency": "EUR",
                "DealProducts": [{"ProductName": "Blender"}],
            },
            "€25.00 rebate on Blender",
        ),
        (
            {
                "DealType": "BOGO",
                "BogoBuyQuantity": "2",
                "BogoBuyName": "Boots",
                "BogoBuyScope": "PRODUCT",
                "BogoGetQuantity": "1",
                "BogoGetName": "Socks",
                "BogoGetScope": "PRODUCT",
                "BogoGetDiscountType": "FREE",
            },
            "Buy 2 Boots, get 1 Socks free",
        ),
        (
            {
                "DealType": "BOGO",
                "BogoBuyScope": "CATEGORY",
                "BogoGetScope": "CATEGORY",
                "BogoGetDiscountType": "PERCENT",
                "BogoGetDiscountPercent": "50",
            },
            "50% off",
        ),
        (
            {
                "DealType": "BOGO",
                "BogoGetDiscountType": "AMOUNT",
                "BogoGetDiscountAmount": "10",
                "BogoGetDiscountCurrency": "GBP",
            },
            "£10.00 off",
        ),
    ],
)
def test_sentence_for_each_deal_type(fields, expected):
    assert expected in summary(deal(**fields)).sentence


def test_bogo_details_show_buy_get_and_purchase_limit():
    s = summary(
        deal(
            DealType="BOGO",
            BogoBuyQuantity="3",
            BogoBuyName="Tents",
            BogoBuyScope="CATEGORY",
            BogoGetQuantity="2",
            BogoGetName="Poles",
            BogoGetScope="PRODUCT",
            BogoGetDiscountType="FREE",
            PurchaseLimitQuantity="1",
        )
    )
    details = dict(s.details)
    assert details["Buy"] == "3 × Tents (category)"
    assert details["Get"] == "2 × Poles (product), free"
    assert details["Purchase limit"] == "1 per order"
    assert details["Type"] == "Buy one, get one (BOGO)"


def test_minimum_purchase_maximum_savings_default_code_and_window():
    s = summary(
        deal(
            DealType="GENERAL_SALE",
            DiscountType="PERCENT",
            DiscountPercent="20",
            MinimumPurchaseAmount="50",
            MinimumPurchaseAmountCurrency="USD",
            MaximumSavingsAmount="30",
            MaximumSavingsCurrency="USD",
            DealDefaultPromoCode="SPRING20",
            DealStartDate="2026-11-01T00:00:00-08:00",
            DealEndDate="2026-12-31T00:00:00-08:00",
        )
    )
    assert "minimum purchase $50.00, up to $30.00 savings." in s.sentence
    details = dict(s.details)
    assert details["Default promo code"] == "SPRING20"
    assert details["Valid"].startswith("Nov 1, 2026 to Dec 31, 2026")


def test_products_keep_prices_and_drop_unsafe_image_urls():
    s = summary(
        deal(
            DealType="GENERAL_SALE",
            DealScope="PRODUCT",
            DealProducts=[
                {
                    "ProductName": "Tent",
                    "ProductImageURL": "https://cdn.example/t.jpg",
                    "ProductBeforePriceAmount": "249.00",
                    "ProductBeforePriceCurrency": "USD",
                    "ProductAfterPriceAmount": "199.00",
                    "ProductAfterPriceCurrency": "USD",
                },
                {"ProductName": "Evil", "ProductImageURL": "javascript:alert(1)"},
            ],
        )
    )
    tent, evil = s.products
    assert (tent.image_url, tent.before, tent.after) == (
        "https://cdn.example/t.jpg",
        "$249.00",
        "$199.00",
    )
    assert evil.image_url == ""


@pytest.mark.parametrize(
    ("fields", "kwargs", "level", "text"),
    [
        ({"DealEndDate": "2026-11-01T00:00:00Z"}, {}, "stop", "expired"),
        ({"DealState": "PENDING"}, {}, "stop", "not active yet"),
        (
            {"DealEndDate": "2026-11-26T00:00:00Z"},
            {"date_needed": NOW + timedelta(days=5)},
            "stop",
            "ends before the date",
        ),
        (
            {"DealRestrictedMediaPartners": ["Someone Else"]},
            {"partner_name": "Trail Blog", "partner_id": 5},
            "caution",
            "not among the deal's restricted partners",
        ),
    ],
)
def test_warnings_where_a_reviewer_should_stop(fields, kwargs, level, text):
    s = summary(deal(DealType="GENERAL_SALE", **fields), **kwargs)
    assert any(w.level == level and text in w.text for w in s.warnings)


def test_no_warnings_for_a_healthy_deal_and_allowed_partner():
    s = summary(
        deal(
            DealType="GENERAL_SALE",
            DealEndDate="2027-01-31T00:00:00Z",
            DealRestrictedMediaPartners=["Trail Blog"],
        ),
        partner_name="trail blog",
        date_needed=NOW + timedelta(days=3),
    )
    assert s.warnings == ()


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1234.5", "USD", "$1,234.50"),
        ("5", "EUR", "€5.00"),
        ("7.25", "GBP", "£7.25"),
        ("1200", "JPY", "¥1,200"),
        ("12.5", "CHF", "12.50 CHF"),
    ],
)
def test_money_in_its_currency(amount, currency, expected):
    assert deals.format_money(Money(Decimal(amount), currency)) == expected


def test_partial_deal_still_summarises_and_no_deal_is_none():
    s = deals.summarize(Deal.parse({"DealId": "9"}), now=NOW)
    assert s.title == "Deal 9" and s.sentence
    assert deals.summarize(None) is None
    assert deals.readable("SOMETHING_NEW") == "Something new"
