"""Buying one line in one tap (live rooms): checked out with the buyer's default address
and card and paid at once, each step stored under the client's Idempotency-Key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import Address, User
from liveshop.catalog.service import shipping_by_market
from liveshop.checkout import model
from liveshop.checkout.market_variants import variant_in_market
from liveshop.checkout.schemas import (
    CheckoutIn,
    CheckoutView,
    OneTapQuoteView,
    PayIn,
    QuoteAmounts,
)
from liveshop.checkout.service import (
    CHECKOUT_STEP,
    PAYMENT_STEP,
    WantedLine,
    checkout_result,
    checkout_view,
    open_checkout,
    opened_checkout_id,
    owned_checkout,
    pay_checkout,
    ship_to_address,
)
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.core.errors import InvalidInput
from liveshop.core.idempotency import fingerprint, run_once, stored_response, validate_key
from liveshop.core.ratelimit import RateLimiter
from liveshop.markets.model import Market
from liveshop.payments.orm import PaymentMethod
from liveshop.payments.provider import PaymentProvider

# One-tap purchases per user: generous for a person tapping in a flash sale, a wall for a
# script hammering the endpoint (retries of one tap count too: they should back off).
BUYS_PER_WINDOW = 10
BUY_WINDOW_SECONDS = 10


async def count_one_tap_buy(limiter: RateLimiter, actor: Actor) -> None:
    """Count a one-tap purchase against the buyer's rate limit (RateLimited past it)."""
    await limiter.hit_async(f"buy:{actor.user_id}", limit=BUYS_PER_WINDOW,
                            window_seconds=BUY_WINDOW_SECONDS)


def _default_address(user_id: int | InstrumentedAttribute[int]) -> Select[Any]:
    # A user id, or User.id when correlated with the users being asked about.
    return select(Address).where(Address.user_id == user_id, Address.is_default.is_(True)
                                 ).order_by(Address.id.desc()).limit(1)


def _default_method(user_id: int) -> Select[Any]:
    return select(PaymentMethod).where(PaymentMethod.user_id == user_id,
                                       PaymentMethod.is_default.is_(True)
                                       ).order_by(PaymentMethod.id.desc()).limit(1)


def one_tap_problems(db: Database, markets: Mapping[int, Market]) -> dict[int, InvalidInput]:
    """Why each of the users who cannot buy in one tap in their market (``markets``, by
    user id) cannot: a default address the market does not ship to, no default card, no
    default address. In one query, since every tap of a flash sale asks."""
    with db.read() as session:
        found = session.execute(select(
            User.id,
            _default_address(User.id).with_only_columns(Address.country).scalar_subquery(),
            exists().where(PaymentMethod.user_id == User.id,
                           PaymentMethod.is_default.is_(True)),
        ).where(User.id.in_(markets))).all()
    has = {user_id: (country, card) for user_id, country, card in found}
    problems = {}
    for user_id, market in markets.items():
        country, card = has.get(user_id, (None, False))
        problem = _one_tap_problem(market, country, card)
        if problem is not None:
            problems[user_id] = problem
    return problems


def _one_tap_problem(market: Market, country: str | None, has_card: bool
                     ) -> InvalidInput | None:
    """The address comes first: a card must never be asked for (and saved) for a purchase
    that cannot ship."""
    if country is not None:
        try:
            model.check_ship_to_country(market, country, field="address",
                                  code="address_not_in_market")
        except InvalidInput as problem:
            return problem
    if not has_card:
        return InvalidInput("Save a card and make it your default to buy in one tap",
                            field="payment_method", code="payment_method_required")
    if country is None:
        return InvalidInput("Save a default shipping address to buy in one tap",
                            field="address", code="address_required")
    return None


def one_tap_details(db: Database, user_id: int, market: Market) -> tuple[int, int]:
    """The default address and card a one-tap purchase in ``market`` uses (ids), or why it
    cannot."""
    with db.read() as session:
        address_id, country, method_id = session.execute(select(
            _default_address(user_id).with_only_columns(Address.id).scalar_subquery(),
            _default_address(user_id).with_only_columns(Address.country).scalar_subquery(),
            _default_method(user_id).with_only_columns(PaymentMethod.id).scalar_subquery(),
        )).one()
    problem = _one_tap_problem(market, country, method_id is not None)
    if problem is not None:
        raise problem
    return address_id, method_id


def quote(db: Database, shop_id: int, market: Market, unit_price: int, quantity: int
          ) -> OneTapQuoteView:
    """What a one-tap purchase of ``quantity`` units at ``unit_price`` (the room's regular
    or sale price) from the shop charges in ``market``, shipping and tax included: the
    amount the room shows before the tap, priced by the same rule as the purchase."""
    shipping = shipping_by_market(db, shop_id).get(market.code)
    if shipping is None:
        raise InvalidInput(f"This shop does not ship to {market.name}", field="market",
                           code="not_shipped_to_market")
    order = model.price_order(market, shop_id, [model.LineInput(
        variant_id=0, shop_id=shop_id, quantity=quantity, unit_price=unit_price)], shipping)
    return OneTapQuoteView(
        market=market.code, currency=market.currency, tax_inclusive=market.tax_inclusive,
        unit_price=unit_price, quantity=quantity, subtotal=order.subtotal,
        shipping=order.shipping, tax=order.tax, total=order.total,
        formatted=QuoteAmounts(
            subtotal=market.format(order.subtotal), shipping=market.format(order.shipping),
            tax=market.format(order.tax), total=market.format(order.total)))


def buy_now(db: Database, payments: PaymentProvider, settings: Settings, actor: Actor,
            variant_id: int, quantity: int, market: Market, idempotency_key: str | None,
            unit_price_override: int | None = None, show_id: int | None = None,
            creator_id: int | None = None, hold_id: int | None = None,
            flash_sale_id: int | None = None) -> CheckoutView:
    """Check out one line with the default address and card and pay for it at once.

    ``unit_price_override`` is a live-room price (minor units of the market's currency);
    the orders carry ``show_id`` and ``creator_id`` (the live host); ``hold_id``: the units
    come from that flash sale's hold, not from available (a declined card puts them back
    there), and ``flash_sale_id`` is that sale, told with the orders paid (``OrderPaid``).
    Raises like pay does (402 declined, 409 out of stock).
    """
    key = validate_key(idempotency_key)
    model.validate_quantity(quantity, settings.max_units_per_variant)
    if unit_price_override is not None and unit_price_override < 0:
        raise InvalidInput("A price cannot be negative", field="unit_price_override")
    address_id, method_id = one_tap_details(db, actor.user_id, market)

    def operation(session: Session) -> tuple[int, Any]:
        ship_to = ship_to_address(session, actor, market, CheckoutIn(address_id=address_id))
        offer = variant_in_market(session, variant_id, market)
        if unit_price_override is not None:
            offer = replace(offer, unit_price=unit_price_override)
        checkout = open_checkout(session, settings, actor, market,
                                 [WantedLine(offer, quantity, "variant_id", hold_id)], ship_to,
                                 source="buy_now", show_id=show_id, creator_id=creator_id)
        # Only the id: the paid checkout is what the buyer sees, and building a view here
        # would keep the stock row locked longer.
        return 201, {"id": checkout.id}

    created = opened_checkout_id(run_once(
        db, user_id=actor.user_id, key=key, scope=CHECKOUT_STEP,
        abandoned_seconds=settings.idempotency_abandoned_seconds,
        request_fingerprint=fingerprint("checkout.buy_now", {
            "variant_id": variant_id, "quantity": quantity, "market": market.code,
            "unit_price_override": unit_price_override, "show_id": show_id,
            "creator_id": creator_id, "address_id": address_id,
        }),
        operation=operation,
    ))
    return checkout_result(pay_checkout(db, payments, settings, actor, created,
                                        PayIn(payment_method_id=method_id), key,
                                        scope=PAYMENT_STEP, flash_sale_id=flash_sale_id))


def one_tap_checkout(db: Database, actor: Actor, idempotency_key: str) -> CheckoutView | None:
    """The checkout that :func:`buy_now` under this key opened, if its checkout step ran."""
    with db.read() as session:
        opened = stored_response(session, actor.user_id, idempotency_key, scope=CHECKOUT_STEP)
        if opened is None or opened.status >= 400:
            return None
        return checkout_view(session, owned_checkout(session, actor, int(opened.body["id"])))
