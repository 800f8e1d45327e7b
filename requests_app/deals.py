"""Deal summaries for a reviewer: one plain sentence, labelled details and warnings.

Pure functions over `impact.Deal`; no I/O. Every field may be missing: a partial deal still
gets a sensible summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from requests_app.impact import Deal, Money

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}
NO_DECIMALS = {"JPY", "KRW", "CLP", "ISK", "HUF", "TWD", "VND"}


@dataclass(frozen=True)
class ProductLine:
    name: str
    image_url: str
    before: str
    after: str


@dataclass(frozen=True)
class DealWarning:
    level: str  # "stop" or "caution"
    text: str


@dataclass(frozen=True)
class DealSummary:
    title: str
    sentence: str
    details: tuple[tuple[str, str], ...]
    products: tuple[ProductLine, ...]
    categories: tuple[str, ...]
    warnings: tuple[DealWarning, ...]


LABELS = {"BOGO": "Buy one, get one (BOGO)", "ENTIRE_STORE": "Entire store"}


def readable(value: str) -> str:
    """An enum value for a person: 'PERCENT_RANGE' -> 'Percent range'."""
    return LABELS.get(value) or value.replace("_", " ").strip().capitalize()


def format_money(money: Money | None) -> str:
    if money is None:
        return ""
    code = (money.currency or "").upper()
    places = 0 if code in NO_DECIMALS else 2
    number = f"{money.amount:,.{places}f}"
    if code in CURRENCY_SYMBOLS:
        return f"{CURRENCY_SYMBOLS[code]}{number}"
    return f"{number} {code}".strip()


def format_percent(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return f"{text}%"


def describe_discount(deal: Deal) -> str:
    kind = deal.discount_type
    if kind == "FIXED" and deal.discount_amount:
        return f"{format_money(deal.discount_amount)} off"
    if kind == "PERCENT" and deal.discount_percent is not None:
        return f"{format_percent(deal.discount_percent)} off"
    if kind == "PERCENT_RANGE" and deal.discount_percent_range_start is not None:
        end = deal.discount_percent_range_end
        start = format_percent(deal.discount_percent_range_start)
        return f"{start}–{format_percent(end)} off" if end is not None else f"{start} or more off"
    if kind == "PERCENT_MAXIMUM" and deal.discount_maximum_percent is not None:
        return f"up to {format_percent(deal.discount_maximum_percent)} off"
    return f"{readable(kind).lower()} discount" if kind else "a discount"


def _categories(deal: Deal) -> tuple[str, ...]:
    return tuple(c.strip() for c in (deal.categories or "").split(",") if c.strip())


def _scope(deal: Deal) -> str:
    if deal.scope == "ENTIRE_STORE":
        return "the entire store"
    if deal.scope == "CATEGORY":
        cats = _categories(deal)
        return ", ".join(cats) if cats else "selected categories"
    if deal.scope == "PRODUCT":
        names = [p.name for p in deal.products if p.name]
        if len(names) == 1:
            return names[0]
        return f"{len(names)} products" if names else "selected products"
    return readable(deal.scope).lower() if deal.scope else ""


def _bogo_get(deal: Deal) -> str:
    kind = deal.bogo_get_discount_type
    if kind == "FREE" or not kind:
        return "free"
    if kind == "PERCENT" and deal.bogo_get_discount_percent is not None:
        return f"{format_percent(deal.bogo_get_discount_percent)} off"
    if kind in ("AMOUNT", "FIXED") and deal.bogo_get_discount:
        return f"{format_money(deal.bogo_get_discount)} off"
    return readable(kind).lower()


def _sentence(deal: Deal) -> str:
    scope = _scope(deal)
    on = f" on {scope}" if scope else ""
    kind = deal.type
    if kind == "BOGO":
        buy = deal.bogo_buy_name or readable(deal.bogo_buy_scope).lower() or "an item"
        get = deal.bogo_get_name or readable(deal.bogo_get_scope).lower() or "another"
        core = (
            f"Buy {deal.bogo_buy_quantity or 1} {buy}, "
            f"get {deal.bogo_get_quantity or 1} {get} {_bogo_get(deal)}"
        )
    elif kind == "FREE_SHIPPING":
        core = f"Free shipping{on}"
    elif kind == "GIFT_WITH_PURCHASE":
        core = f"Free gift with purchase: {deal.gift or 'a gift'}{on.replace(' on ', ', on ', 1)}"
    elif kind == "REBATE":
        amount = format_money(deal.rebate)
        core = f"{amount} rebate{on}" if amount else f"Rebate{on}"
    else:
        discount = describe_discount(deal)
        # "20% off the entire store" reads better than "20% off on the entire store".
        core = f"{discount} {scope}" if scope and discount.endswith(" off") else f"{discount}{on}"
        core = core[0].upper() + core[1:]
    extras = []
    if deal.minimum_purchase:
        extras.append(f"minimum purchase {format_money(deal.minimum_purchase)}")
    if deal.maximum_savings:
        extras.append(f"up to {format_money(deal.maximum_savings)} savings")
    return ", ".join([core, *extras]) + "."


def _window(deal: Deal) -> str:
    def day(value: datetime) -> str:
        return timezone.localtime(value).strftime("%b %-d, %Y")

    if deal.start_date and deal.end_date:
        return f"{day(deal.start_date)} to {day(deal.end_date)}"
    if deal.start_date:
        return f"from {day(deal.start_date)}, no end date"
    if deal.end_date:
        return f"until {day(deal.end_date)}"
    return ""


def _safe_image(url: str) -> str:
    return url if url.lower().startswith(("https://", "http://")) else ""


def has_expired(deal: Deal | None, now: datetime) -> bool:
    """Whether the deal is over: its end date has passed, or impact.com marks it expired."""
    if deal is None:
        return False
    return bool(deal.end_date and deal.end_date < now) or deal.state == "EXPIRED"


def _warnings(
    deal: Deal,
    partner_id: int | None,
    partner_name: str,
    date_needed: datetime | None,
    now: datetime,
) -> tuple[DealWarning, ...]:
    found: list[DealWarning] = []
    if deal.end_date and deal.end_date < now:
        found.append(DealWarning("stop", "This deal has expired: its end date has passed."))
    elif deal.state == "EXPIRED":
        found.append(DealWarning("stop", "impact.com marks this deal as expired."))
    if deal.state == "PENDING" or (deal.start_date and deal.start_date > now):
        found.append(DealWarning("stop", "This deal is not active yet (pending)."))
    elif deal.state and deal.state not in ("ACTIVE", "EXPIRED", "PENDING"):
        found.append(DealWarning("caution", f"Deal state is {readable(deal.state).lower()}."))
    if date_needed and deal.end_date and now <= deal.end_date < date_needed:
        found.append(
            DealWarning("stop", "The deal ends before the date the partner needs the value.")
        )
    if date_needed and deal.start_date and deal.start_date > date_needed:
        found.append(DealWarning("caution", "The deal starts after the date needed."))
    if deal.restricted_partners:
        names = {p.strip().casefold() for p in deal.restricted_partners}
        wanted = {partner_name.strip().casefold(), str(partner_id or "")}
        if not names & wanted:
            found.append(
                DealWarning("caution", "This partner is not among the deal's restricted partners.")
            )
    return tuple(found)


def summarize(
    deal: Deal | None,
    *,
    partner_id: int | None = None,
    partner_name: str = "",
    date_needed: datetime | None = None,
    now: datetime | None = None,
) -> DealSummary | None:
    """Everything a reviewer needs to know about a request's deal, or None without one."""
    if deal is None:
        return None
    now = now or timezone.now()
    details: list[tuple[str, str]] = [
        ("Type", readable(deal.type)),
        ("State", readable(deal.state)),
    ]
    if deal.type not in ("BOGO", "FREE_SHIPPING", "GIFT_WITH_PURCHASE", "REBATE") or (
        deal.discount_type
    ):
        details.append(("Discount", describe_discount(deal) if deal.discount_type else ""))
    details += [
        ("Applies to", _scope(deal)),
        ("Categories", ", ".join(_categories(deal))),
        ("Gift", deal.gift),
        ("Rebate", format_money(deal.rebate)),
        ("Minimum purchase", format_money(deal.minimum_purchase)),
        ("Maximum savings", format_money(deal.maximum_savings)),
        ("Default promo code", deal.default_promo_code),
        ("Valid", _window(deal)),
    ]
    if deal.type == "BOGO":
        details += [
            (
                "Buy",
                f"{deal.bogo_buy_quantity or 1} × {deal.bogo_buy_name or '—'}"
                f" ({readable(deal.bogo_buy_scope).lower() or 'any'})",
            ),
            (
                "Get",
                f"{deal.bogo_get_quantity or 1} × {deal.bogo_get_name or '—'}"
                f" ({readable(deal.bogo_get_scope).lower() or 'any'}), {_bogo_get(deal)}",
            ),
        ]
    if deal.purchase_limit_quantity:
        details.append(("Purchase limit", f"{deal.purchase_limit_quantity} per order"))
    details += [
        ("Restricted to partners", ", ".join(deal.restricted_partners)),
        ("Restricted to groups", ", ".join(deal.restricted_partner_groups)),
    ]
    products = tuple(
        ProductLine(
            name=p.name,
            image_url=_safe_image(p.image_url),
            before=format_money(p.before_price),
            after=format_money(p.after_price),
        )
        for p in deal.products
    )
    return DealSummary(
        title=deal.name or (f"Deal {deal.id}" if deal.id else "Deal"),
        sentence=_sentence(deal),
        details=tuple((label, value) for label, value in details if value),
        products=products,
        categories=_categories(deal),
        warnings=_warnings(deal, partner_id, partner_name, date_needed, now),
    )
