from __future__ import annotations

from typing import Any

from liveshop.core.db import Database
from liveshop.inventory.orm import StockLevel
from tests.checkout.conftest import Catalog, add


def test_cart_groups_lines_by_shop_with_shipping_and_vat(make_user: Any,
                                                          catalog: Catalog) -> None:
    buyer = make_user()
    assert add(buyer, catalog.tee, 2).status_code == 201
    assert add(buyer, catalog.mug).status_code == 201
    cart = buyer.get("/api/v1/cart").json()
    assert cart["market"] == "UK" and cart["tax_inclusive"]
    shops = {shop["shop_name"]: shop for shop in cart["shops"]}
    assert shops["Alpha Tees"]["subtotal"] == 4800 and shops["Alpha Tees"]["shipping"] == 399
    assert shops["Beta Mugs"]["subtotal"] == 1000 and shops["Beta Mugs"]["shipping"] == 250
    assert cart["total"] == 4800 + 399 + 1000 + 250
    # VAT contained: 800 + 167 (1000) + 67 (399) + 42 (250)
    assert cart["tax"] == 800 + 167 + 67 + 42
    assert cart["item_count"] == 3 and not cart["has_problems"]


def test_adding_the_same_variant_adds_up_and_is_capped(make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    add(buyer, catalog.tee, 2)
    cart = add(buyer, catalog.tee, 1).json()
    (line,) = cart["shops"][0]["lines"]
    assert line["quantity"] == 3 and line["variant_title"] == "M"
    too_many = add(buyer, catalog.tee, 3)  # 6 > stock of 5
    assert too_many.status_code == 409 and too_many.json()["error"]["field"] == "quantity"


def test_cart_input_errors_name_the_field(make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    for quantity in (0, 100):
        response = add(buyer, catalog.tee, quantity)
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "quantity"
    missing = add(buyer, 999_999)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "variant_id"
    not_here = add(buyer, catalog.us_only)
    assert not_here.status_code == 422
    assert not_here.json()["error"]["field"] == "variant_id"
    bad_type = buyer.post("/api/v1/cart/items", json={"variant_id": "x"})
    assert bad_type.status_code == 422 and bad_type.json()["error"]["field"] == "variant_id"


def test_shop_must_ship_to_the_market(make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    buyer.headers["Accept-Language"] = "de-DE"
    assert add(buyer, catalog.tee).status_code == 201
    # Beta Mugs has no DE shipping (and no DE price).
    assert add(buyer, catalog.mug).status_code == 422


def test_update_and_remove_items_only_in_my_cart(make_user: Any, catalog: Catalog) -> None:
    buyer, other = make_user(), make_user()
    item_id = add(buyer, catalog.tee).json()["shops"][0]["lines"][0]["item_id"]
    updated = buyer.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 4})
    assert updated.json()["shops"][0]["lines"][0]["quantity"] == 4
    bad = buyer.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 0})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "quantity"
    assert other.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 1}).status_code == 404
    assert other.delete(f"/api/v1/cart/items/{item_id}").status_code == 404
    assert buyer.delete(f"/api/v1/cart/items/{item_id}").json()["item_count"] == 0


def test_cart_shows_stock_problems(make_user: Any, catalog: Catalog, db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.mug, 2)
    with db.transaction() as session:
        level = session.get(StockLevel, catalog.mug)
        assert level is not None
        level.available = 1
    cart = buyer.get("/api/v1/cart").json()
    assert cart["has_problems"]
    assert cart["shops"][0]["lines"][0]["problem"] == "Only 1 left"


def test_cart_needs_login(client: Any) -> None:
    assert client.get("/api/v1/cart").status_code == 401
