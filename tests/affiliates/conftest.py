"""A shop with two products open to creators, two creators and a buyer, for the creator
storefront tests (share links, showcase, marketplace, samples, the affiliate page)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from liveshop.core.db import Database
from liveshop.creators.orm import CreatorProfile
from liveshop.orders.orm import Order, OrderLine
from tests.conftest import UserClient
from tests.factories import VariantSpec, create_product, create_shop

PRICE = 2400  # £24.00 with 400 VAT: 2000 net
OK_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
UK_ADDRESS = {"full_name": "Nina Live", "line1": "1 High St", "line2": "", "city": "London",
              "postcode": "N1 1AA", "country": "GB"}


@dataclass
class Stage:
    owner: UserClient
    nina: UserClient
    kai: UserClient
    buyer: UserClient
    shop_id: int
    scarf: int  # product, open plan at 10%
    scarf_variant: int
    mug: int  # product, no plan
    mug_variant: int


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def handle_of(db: Database, user_id: int) -> str:
    with db.read() as session:
        return session.scalars(select(CreatorProfile.handle).where(
            CreatorProfile.user_id == user_id)).one()


def open_plan(owner: UserClient, shop_id: int, product_id: int, rate_bp: int, **extra: Any
              ) -> dict[str, Any]:
    created = owner.post(f"/api/v1/shops/{shop_id}/affiliate-plans", json={
        "product_id": product_id, "kind": extra.pop("kind", "open"), "rate_bp": rate_bp,
        **extra}, headers=key())
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def buy_from_cart(buyer: UserClient, variant_id: int) -> int:
    """Cart, checkout and pay: the paid checkout's id."""
    assert buyer.post("/api/v1/cart/items", json={
        "variant_id": variant_id, "quantity": 1}).status_code < 300
    checkout = buyer.post("/api/v1/checkouts", json={"address": UK_ADDRESS}, headers=key())
    assert checkout.status_code == 201, checkout.text
    paid = buyer.post(f"/api/v1/checkouts/{checkout.json()['id']}/pay",
                      json={"card": OK_CARD}, headers=key())
    assert paid.status_code == 200, paid.text
    return int(checkout.json()["id"])


def lines_of_checkout(db: Database, checkout_id: int) -> list[OrderLine]:
    with db.read() as session:
        lines = list(session.scalars(select(OrderLine).join(Order).where(
            Order.checkout_id == checkout_id)))
        for line in lines:
            session.expunge(line)
        return lines


@pytest.fixture
def stage(db: Database, make_user: Callable[..., UserClient]) -> Stage:
    owner = make_user("seller", name="Sam Seller")
    nina = make_user("creator", name="Nina Live")
    kai = make_user("creator", name="Kai Streams")
    buyer = make_user("buyer", name="Ann Buyer")
    shop_id = create_shop(db, owner.id, {"UK": 399})
    scarf, (scarf_variant,) = create_product(
        db, shop_id, [VariantSpec(prices={"UK": PRICE}, stock=3)], title="Silk Scarf",
        tags=",scarves,silk,")
    mug, (mug_variant,) = create_product(
        db, shop_id, [VariantSpec(prices={"UK": 1000}, stock=3)], title="Mug", tags=",mugs,")
    open_plan(owner, shop_id, scarf, 1000)
    for creator in (nina, kai):
        # A creator's profile (and handle) is made on first use of their pages.
        assert creator.get("/creators/marketplace").status_code == 200
    return Stage(owner, nina, kai, buyer, shop_id, scarf, scarf_variant, mug, mug_variant)
