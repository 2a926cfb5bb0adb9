"""Pricing rules for carts and checkouts. Pure: no HTTP, no SQL, integer minor units only.

A checkout splits into one order per shop. In tax-inclusive markets (UK/EU) prices and
shipping already contain VAT and the tax shown is the VAT they contain; in the US prices
are pre-tax and liveshop collects no sales tax, so tax is 0.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from liveshop.core.errors import InvalidInput
from liveshop.markets.addresses import country_name
from liveshop.markets.model import COUNTRY_TO_MARKET, MARKETS, Market

MIN_QUANTITY = 1
# The most any quantity field can say. The business cap is lower and configurable
# (LIVESHOP_MAX_UNITS_PER_VARIANT, :func:`validate_quantity`); this bound only keeps absurd
# numbers out of the schema.
MAX_QUANTITY = 999
# No 0/O, 1/I/L or U: order numbers are read out over the phone.
ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
ORDER_NUMBER_LENGTH = 6


def validate_quantity(quantity: int, limit: int, field: str = "quantity") -> int:
    """Units of one variant a buyer may have in a cart line, check out in one line or buy
    in one tap: 1 to ``limit`` (LIVESHOP_MAX_UNITS_PER_VARIANT). Together with one open
    cart checkout per buyer, this bounds the stock one buyer can hold unpaid."""
    if not MIN_QUANTITY <= quantity <= limit:
        raise InvalidInput(f"Quantity must be between {MIN_QUANTITY} and {limit}",
                           field=field)
    return quantity


def new_order_number() -> str:
    return "LS-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET)
                           for _ in range(ORDER_NUMBER_LENGTH))


def countries_of(market: Market) -> list[str]:
    return [country for country, code in COUNTRY_TO_MARKET.items() if code == market.code]


def check_ship_to_country(market: Market, country: str, field: str = "address.country",
                          code: str | None = None) -> str:
    """The address must be in the cart's market: prices, currency and VAT depend on it."""
    country = country.strip().upper()
    if COUNTRY_TO_MARKET.get(country) != market.code:
        raise InvalidInput(ship_to_problem(market, country), field=field, code=code)
    return country


def ship_to_problem(market: Market, country: str) -> str:
    """Why an order priced for ``market`` cannot ship to ``country``, in the names the
    market picker and the address forms show (never "UK" beside "GB")."""
    allowed = ", ".join(country_name(c) for c in countries_of(market))
    there = country_name(country) if country else "another country"
    home = COUNTRY_TO_MARKET.get(country)
    switch = (f"switch market to {MARKETS[home].name} to ship to {there}" if home
              else f"liveshop does not ship to {there}")
    return f"Orders priced for {market.name} ship to {allowed} only; {switch}"


def tax_note(market: Market) -> str:
    if market.tax_inclusive:
        return f"Prices and shipping include {market.vat_percent} VAT."
    return "Prices exclude sales tax; sales tax is not collected by liveshop."


@dataclass(frozen=True)
class LineInput:
    """One thing to buy, as the catalog prices it in the market."""

    variant_id: int
    shop_id: int
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class PricedLine:
    variant_id: int
    quantity: int
    unit_price: int
    line_total: int
    tax: int


@dataclass(frozen=True)
class OrderDraft:
    shop_id: int
    lines: tuple[PricedLine, ...]
    subtotal: int
    shipping: int
    tax: int
    total: int


@dataclass(frozen=True)
class CheckoutDraft:
    market: str
    currency: str
    tax_inclusive: bool
    orders: tuple[OrderDraft, ...]
    subtotal: int
    shipping: int
    tax: int
    total: int


def price_line(market: Market, line: LineInput) -> PricedLine:
    line_total = line.unit_price * line.quantity
    return PricedLine(line.variant_id, line.quantity, line.unit_price, line_total,
                      market.tax_of(line_total))


def price_order(market: Market, shop_id: int, lines: Iterable[LineInput], shipping: int
                ) -> OrderDraft:
    priced = tuple(price_line(market, line) for line in lines)
    subtotal = sum(line.line_total for line in priced)
    # Tax per line then on shipping, so each order line carries its own VAT for refunds.
    tax = sum(line.tax for line in priced) + market.tax_of(shipping)
    total = subtotal + shipping + (0 if market.tax_inclusive else tax)
    return OrderDraft(shop_id, priced, subtotal, shipping, tax, total)


def price_checkout(market: Market, lines: Sequence[LineInput], shipping_by_shop: dict[int, int]
                   ) -> CheckoutDraft:
    """Group lines by shop (first-seen order) into order drafts with one shipping fee each."""
    by_shop: dict[int, list[LineInput]] = {}
    for line in lines:
        by_shop.setdefault(line.shop_id, []).append(line)
    orders = tuple(price_order(market, shop_id, shop_lines, shipping_by_shop[shop_id])
                   for shop_id, shop_lines in by_shop.items())
    return CheckoutDraft(
        market=market.code, currency=market.currency, tax_inclusive=market.tax_inclusive,
        orders=orders,
        subtotal=sum(order.subtotal for order in orders),
        shipping=sum(order.shipping for order in orders),
        tax=sum(order.tax for order in orders),
        total=sum(order.total for order in orders),
    )
