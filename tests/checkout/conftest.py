"""A small catalog (two shops) and a buyer, for the checkout tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from liveshop.core.db import Database
from tests.factories import VariantSpec, create_product, create_shop

OK_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED_CARD = {**OK_CARD, "number": "4000000000000002"}
NO_FUNDS_CARD = {**OK_CARD, "number": "4000000000009995"}
UK_ADDRESS = {"full_name": "Ann Buyer", "line1": "1 High St", "line2": "", "city": "London",
              "postcode": "N1 1AA", "country": "GB"}


@dataclass
class Catalog:
    shop_a: int
    shop_b: int
    tee: int  # shop A, UK 2400 / DE 2380, stock 5
    mug: int  # shop B, UK 1000, stock 3
    us_only: int  # shop A, priced only in the US


@pytest.fixture
def catalog(db: Database, make_user: Any) -> Catalog:
    seller = make_user("seller")
    shop_a = create_shop(db, seller.id, {"UK": 399, "DE": 499}, name="Alpha Tees")
    shop_b = create_shop(db, seller.id, {"UK": 250}, name="Beta Mugs")
    _, (tee,) = create_product(db, shop_a, [VariantSpec({"UK": 2400, "DE": 2380}, stock=5,
                                                        option1="M")], title="Tee")
    _, (mug,) = create_product(db, shop_b, [VariantSpec({"UK": 1000}, stock=3)], title="Mug")
    _, (us_only,) = create_product(db, shop_a, [VariantSpec({"US": 1500})], title="US Cap")
    return Catalog(shop_a, shop_b, tee, mug, us_only)


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def add(buyer: Any, variant_id: int, quantity: int = 1) -> Any:
    return buyer.post("/api/v1/cart/items", json={"variant_id": variant_id, "quantity": quantity})


def check_out(buyer: Any, **body: Any) -> Any:
    return buyer.post("/api/v1/checkouts", json=body or {"address": UK_ADDRESS}, headers=key())


def pay(buyer: Any, checkout_id: int, **body: Any) -> Any:
    return buyer.post(f"/api/v1/checkouts/{checkout_id}/pay", json=body or {"card": OK_CARD},
                      headers=key())
