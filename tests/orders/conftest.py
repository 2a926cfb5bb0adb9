"""Paid orders built straight through the ORM, the way checkout leaves them, so the orders
tests do not depend on the checkout code."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from liveshop.catalog.orm import ShopMarket, Variant, VariantPrice
from liveshop.checkout.orm import Checkout
from liveshop.core.db import Database, utcnow
from liveshop.inventory import service as inventory
from liveshop.markets.model import MARKETS
from liveshop.orders.orm import Order, OrderEvent, OrderLine
from liveshop.payments.orm import Payment
from liveshop.payments.provider import CardDetails, PaymentProvider
from liveshop.services import app_services
from tests.factories import VariantSpec, create_product, create_shop

SHIP_TO = {"full_name": "Ann Buyer", "line1": "1 High Street", "line2": "",
           "city": "London", "postcode": "N1 1AA", "country": "GB"}
COUNTRY = {"UK": "GB", "DE": "DE", "FR": "FR", "IT": "IT", "ES": "ES", "US": "US"}


@dataclass
class Shop:
    id: int
    seller: Any
    variant_ids: list[int]


def build_order(db: Database, payments: PaymentProvider, *, buyer_id: int, shop_id: int,
                items: list[tuple[int, int]], market: str = "UK", status: str = "paid",
                delivered_at: datetime | None = None, created_at: datetime | None = None
                ) -> int:
    """One checkout + one order, with reservations held (pending_payment) or committed and
    a succeeded test-provider payment (paid and later)."""
    m = MARKETS[market]
    with db.transaction() as session:
        shipping = session.scalars(select(ShopMarket.shipping_minor).where(
            ShopMarket.shop_id == shop_id, ShopMarket.market == market)).one()
        priced = []
        for variant_id, quantity in items:
            variant = session.get(Variant, variant_id)
            assert variant is not None
            price = session.get(VariantPrice, (variant_id, market))
            assert price is not None
            priced.append((variant, quantity, price.amount_minor))
        subtotal = sum(unit * quantity for _, quantity, unit in priced)
        tax = sum(m.tax_of(unit * quantity) for _, quantity, unit in priced) + m.tax_of(shipping)
        total = subtotal + shipping + (0 if m.tax_inclusive else tax)
        checkout = Checkout(buyer_id=buyer_id, market=market, currency=m.currency,
                            status="open", subtotal=subtotal, shipping=shipping, tax=tax,
                            total=total, ship_to={**SHIP_TO, "country": COUNTRY[market]})
        session.add(checkout)
        session.flush()
        checkout_id = checkout.id
        order = Order(number=f"LS-{uuid.uuid4().hex[:8].upper()}", checkout_id=checkout_id,
                      buyer_id=buyer_id, shop_id=shop_id, market=market, currency=m.currency,
                      status="pending_payment", tax_inclusive=m.tax_inclusive,
                      subtotal=subtotal, shipping=shipping, tax=tax, total=total,
                      refunded_amount=0, ship_to=checkout.ship_to,
                      created_at=created_at or utcnow())
        session.add(order)
        session.flush()
        order_id = order.id
        for variant, quantity, unit in priced:
            reservation = inventory.reserve(session, variant.id, quantity, holder_id=buyer_id,
                                            ttl=timedelta(minutes=15))
            session.add(OrderLine(
                order_id=order.id, variant_id=variant.id, reservation_id=reservation.id,
                product_title=variant.product.title, variant_title=variant.option1 or "",
                sku=variant.sku, quantity=quantity, unit_price=unit,
                line_total=unit * quantity, tax=m.tax_of(unit * quantity),
                refunded_quantity=0,
            ))
        session.add(OrderEvent(order_id=order.id, from_status=None,
                               to_status="pending_payment", actor_id=buyer_id))
    if status == "pending_payment":
        return order_id

    card = payments.tokenize(CardDetails("4242424242424242", 12, 2030, "123"))
    charge = payments.charge(card.token, total, m.currency, f"checkout:{checkout_id}")
    with db.transaction() as session:
        assert charge.succeeded
        order = session.get_one(Order, order_id)
        session.add(Payment(checkout_id=checkout_id, amount=total, currency=m.currency,
                            status="succeeded", provider="test", provider_ref=charge.reference,
                            last4=card.last4))
        for line in order.lines:
            assert line.reservation_id is not None
            inventory.commit(session, line.reservation_id, order.id)
        session.get_one(Checkout, checkout_id).status = "paid"
        now = utcnow()
        order.paid_at = now
        order.status = status
        history = ["pending_payment", "paid", "shipped", "delivered"]
        reached = history[: history.index(status) + 1]
        for before, after in itertools.pairwise(reached):
            session.add(OrderEvent(order_id=order.id, from_status=before, to_status=after,
                                   actor_id=None))
        if status in ("shipped", "delivered"):
            order.carrier, order.tracking_number = "Royal Mail", "RM123456789GB"
            order.shipped_at = now
        if status == "delivered":
            order.delivered_at = delivered_at or now
            order.shipped_at = order.delivered_at - timedelta(days=1)
    return order_id


@pytest.fixture
def payments(app: Any) -> PaymentProvider:
    provider: PaymentProvider = app_services(app).context.payments
    return provider


@pytest.fixture
def seller(make_user: Any) -> Any:
    return make_user("seller", name="Sam Seller")


@pytest.fixture
def buyer(make_user: Any) -> Any:
    return make_user("buyer", name="Ann Buyer")


@pytest.fixture
def shop(db: Database, seller: Any) -> Shop:
    shop_id = create_shop(db, seller.id, shipping={"UK": 399, "DE": 499, "US": 599},
                          name="Tee Shop")
    _, variant_ids = create_product(db, shop_id, [
        VariantSpec(prices={"UK": 2000, "DE": 2500, "US": 2200}, stock=10, option1="M"),
        VariantSpec(prices={"UK": 1500, "DE": 1800, "US": 1600}, stock=10, option1="L"),
    ], title="Logo Tee")
    return Shop(shop_id, seller, variant_ids)


OrderFactory = Callable[..., int]


@pytest.fixture
def make_order(db: Database, payments: PaymentProvider, shop: Shop, buyer: Any
               ) -> OrderFactory:
    """make_order(status="paid", market="UK", items=[(variant_id, qty)], ...) -> order id.
    Default: 2 x M (20.00) + 1 x L (15.00) + 3.99 shipping in the UK."""

    def factory(status: str = "paid", market: str = "UK",
                items: list[tuple[int, int]] | None = None, buyer_id: int | None = None,
                **extra: Any) -> int:
        return build_order(db, payments, buyer_id=buyer_id or buyer.id, shop_id=shop.id,
                           items=items or [(shop.variant_ids[0], 2), (shop.variant_ids[1], 1)],
                           market=market, status=status, **extra)

    return factory
