"""What one buyer may hold unpaid: one cart checkout at a time (a new one replaces the
last) and at most LIVESHOP_MAX_UNITS_PER_VARIANT units of a variant in a cart line, a
checkout line or a one-tap purchase (issue 16, item 4)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from liveshop.app import create_app
from liveshop.checkout import carts, service
from liveshop.checkout.orm import CartItem, Checkout
from liveshop.checkout.schemas import CheckoutIn, ShippingAddress
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.core.errors import Conflict, InvalidInput
from liveshop.inventory.orm import StockLevel
from tests.checkout.conftest import OK_CARD, UK_ADDRESS, add, check_out, key, pay
from tests.checkout.test_checkout_service import UK, actor_of, in_threads
from tests.factories import VariantSpec, create_product, create_shop


@pytest.fixture
def plenty(db: Database, make_user: Any) -> int:
    """A variant with 1,000 units in stock."""
    seller = make_user("seller")
    shop = create_shop(db, seller.id, {"UK": 399})
    _, (variant_id,) = create_product(db, shop, [VariantSpec({"UK": 1500}, stock=1000)],
                                      title="Sticker")
    return variant_id


def stock(db: Database, variant_id: int) -> tuple[int, int, int]:
    with db.read() as session:
        level = session.get(StockLevel, variant_id)
        assert level is not None
        return level.available, level.reserved, level.sold


def open_checkouts(db: Database, buyer_id: int) -> list[int]:
    with db.read() as session:
        return list(session.scalars(select(Checkout.id).where(
            Checkout.buyer_id == buyer_id, Checkout.status == "open")))


def test_ten_checkouts_hold_one_cart_not_ten(make_user: Any, plenty: int, db: Database
                                             ) -> None:
    buyer = make_user()
    assert add(buyer, plenty, 10).status_code == 201
    created = [check_out(buyer) for _ in range(10)]
    assert all(response.status_code == 201 for response in created)
    last = created[-1].json()["id"]
    assert open_checkouts(db, buyer.id) == [last]
    assert stock(db, plenty) == (990, 10, 0)
    # The replaced checkouts are cancelled with their orders; paying one is refused.
    first = created[0].json()["id"]
    replaced = buyer.get(f"/api/v1/checkouts/{first}").json()
    assert replaced["status"] == "cancelled"
    assert {order["status"] for order in replaced["orders"]} == {"cancelled"}
    refused = pay(buyer, first)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "checkout_closed")
    assert pay(buyer, last).status_code == 200
    assert stock(db, plenty) == (990, 0, 10)
    # Another buyer's checkout is nobody else's business.
    other = make_user()
    add(other, plenty, 2)
    assert check_out(other).status_code == 201
    add(buyer, plenty, 1)
    assert check_out(buyer).status_code == 201
    assert len(open_checkouts(db, other.id)) == 1


def test_a_failed_checkout_leaves_the_open_one_alone(make_user: Any, plenty: int,
                                                     db: Database) -> None:
    buyer = make_user()
    add(buyer, plenty, 3)
    kept = check_out(buyer).json()["id"]
    refused = check_out(buyer, address={**UK_ADDRESS, "country": "DE"})
    assert refused.status_code == 422
    assert open_checkouts(db, buyer.id) == [kept]
    assert stock(db, plenty) == (997, 3, 0)


def test_checkouts_created_at_once_leave_one_open(make_user: Any, plenty: int, db: Database,
                                                  settings: Settings) -> None:
    buyer = make_user()
    add(buyer, plenty, 4)
    data = CheckoutIn(address=ShippingAddress(**UK_ADDRESS))
    created = in_threads(6, lambda: service.create_checkout(
        db, settings, actor_of(buyer), UK, data, uuid.uuid4().hex))
    assert all(not isinstance(result, BaseException) and result.status == 201
               for result in created), created
    assert len(open_checkouts(db, buyer.id)) == 1
    assert stock(db, plenty) == (996, 4, 0)


def test_a_one_tap_purchase_leaves_the_cart_checkout_open(make_user: Any, plenty: int,
                                                          db: Database) -> None:
    buyer = make_user()
    assert buyer.post("/api/v1/me/addresses", json=UK_ADDRESS).status_code == 201
    assert buyer.post("/api/v1/payment-methods", json={"card": OK_CARD}).status_code == 201
    add(buyer, plenty, 2)
    in_cart = check_out(buyer).json()["id"]
    bought = buyer.post("/api/v1/buy-now", json={"variant_id": plenty, "quantity": 1},
                        headers=key())
    assert bought.status_code == 200 and bought.json()["status"] == "paid"
    assert open_checkouts(db, buyer.id) == [in_cart]
    assert stock(db, plenty) == (997, 2, 1)


def test_units_of_one_variant_are_capped_everywhere(make_user: Any, plenty: int,
                                                    db: Database) -> None:
    buyer = make_user()
    too_many = add(buyer, plenty, 11)
    assert (too_many.status_code, too_many.json()["error"]["field"]) == (422, "quantity")
    assert "between 1 and 10" in too_many.json()["error"]["message"]
    item = add(buyer, plenty, 6).json()["shops"][0]["lines"][0]["item_id"]
    adding_up = add(buyer, plenty, 5)  # 11 in the cart: the cart, not the request, is at fault
    assert (adding_up.status_code, adding_up.json()["error"]["field"]) == (409, "quantity")
    assert adding_up.json()["error"]["message"] == (
        "You have 6 in your cart; at most 10 of one variant in all")
    patched = buyer.patch(f"/api/v1/cart/items/{item}", json={"quantity": 11})
    assert (patched.status_code, patched.json()["error"]["field"]) == (422, "quantity")
    assert buyer.patch(f"/api/v1/cart/items/{item}", json={"quantity": 10}).status_code == 200
    one_tap = buyer.post("/api/v1/buy-now", json={"variant_id": plenty, "quantity": 11},
                         headers=key())
    assert (one_tap.status_code, one_tap.json()["error"]["field"]) == (422, "quantity")

    # A line put in the cart before the limit was lowered cannot be checked out as it is.
    with db.transaction() as session:
        session.execute(update(CartItem).where(CartItem.id == item).values(quantity=99))
    refused = check_out(buyer)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == f"items.{item}.quantity"
    assert stock(db, plenty) == (1000, 0, 0)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Checkout)) == 0


def test_the_cap_is_a_setting(make_user: Any, plenty: int, db: Database,
                              settings: Settings) -> None:
    buyer = actor_of(make_user())
    strict = settings.model_copy(update={"max_units_per_variant": 3})
    with pytest.raises(InvalidInput) as refused:
        carts.add_item(db, strict, buyer, UK, plenty, 4)
    assert refused.value.field == "quantity" and "between 1 and 3" in refused.value.message
    carts.add_item(db, strict, buyer, UK, plenty, 3)
    with pytest.raises(Conflict) as full:
        carts.add_item(db, strict, buyer, UK, plenty, 1)
    assert full.value.field == "quantity" and "at most 3" in full.value.message
    # The app's OpenAPI document states the cap, so a generated client knows it.
    schemas = create_app(strict, db).openapi()["components"]["schemas"]
    for body in ("CartItemIn", "CartItemUpdate", "BuyNowIn", "BuyIn"):
        assert schemas[body]["properties"]["quantity"]["maximum"] == 3, body
