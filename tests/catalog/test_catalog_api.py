from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from liveshop.checkout.orm import Checkout
from liveshop.inventory import service as inventory
from liveshop.orders.orm import Order, OrderLine
from tests.catalog.helpers import make_product, make_shop, product_body


def test_seller_creates_shop_with_markets_and_unique_slug(make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, name="Tee Shop")
    assert shop["slug"] == "tee-shop"
    assert {m["market"]: m["shipping"] for m in shop["markets"]} == {
        "UK": 399, "DE": 499, "US": 599}
    assert make_shop(seller, name="Tee Shop!")["slug"] == "tee-shop-2"
    mine = seller.get("/api/v1/shops/mine").json()
    assert [s["id"] for s in mine] == [shop["id"], shop["id"] + 1]

    changed = seller.patch(f"/api/v1/shops/{shop['id']}", json={"name": "Better Tees"})
    assert changed.status_code == 200 and changed.json()["name"] == "Better Tees"
    # A market code is one of the six as OpenAPI lists them: "fr" is no code.
    lower = seller.put(f"/api/v1/shops/{shop['id']}/markets",
                       json=[{"market": "fr", "shipping": 650}])
    assert (lower.status_code, lower.json()["error"]["field"]) == (422, "0.market")
    markets = seller.put(f"/api/v1/shops/{shop['id']}/markets",
                         json=[{"market": "FR", "shipping": 650}, {"market": "DE", "shipping": 0}])
    assert {m["market"]: m["shipping"] for m in markets.json()["markets"]} == {"DE": 0, "FR": 650}
    assert seller.get(f"/api/v1/shops/{shop['id']}").json()["name"] == "Better Tees"


def test_shop_validation_names_fields(make_user: Any) -> None:
    seller = make_user("seller")
    bad_market = seller.post("/api/v1/shops", json={
        "name": "X", "markets": [{"market": "DE", "shipping": 1}, {"market": "JP", "shipping": 1}]})
    assert bad_market.status_code == 422
    assert bad_market.json()["error"]["field"] == "markets.1.market"
    negative = seller.post("/api/v1/shops", json={
        "name": "X", "markets": [{"market": "DE", "shipping": -1}]})
    assert negative.json()["error"]["field"] == "markets.0.shipping"
    blank = seller.post("/api/v1/shops", json={"name": "   "})
    assert blank.status_code == 422 and blank.json()["error"]["field"] == "name"


def test_buyers_cannot_open_shops_and_sellers_cannot_touch_others(make_user: Any) -> None:
    buyer, seller, other = make_user("buyer"), make_user("seller"), make_user("seller")
    refused = buyer.post("/api/v1/shops", json={"name": "Nope"})
    assert refused.status_code == 403
    shop = make_shop(seller)
    assert other.patch(f"/api/v1/shops/{shop['id']}", json={"name": "Mine"}).status_code == 403
    assert other.post(f"/api/v1/shops/{shop['id']}/products",
                      json=product_body()).status_code == 403
    assert buyer.post(f"/api/v1/shops/{shop['id']}/products",
                      json=product_body()).status_code == 403
    product = make_product(seller, shop["id"])
    assert other.patch(f"/api/v1/products/{product['id']}",
                       json={"title": "x"}).status_code == 403
    assert other.put(f"/api/v1/products/{product['id']}/variants",
                     json={"variants": product_body()["variants"]}).status_code == 403


def test_create_product_with_variants_prices_and_stock_rows(make_user: Any, db: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    product = make_product(seller, shop["id"])
    assert product["tags"] == ["summer"] and product["options"] == ["Size"]
    medium = product["variants"][1]
    assert medium["title"] == "M" and medium["prices"]["DE"]["currency"] == "EUR"
    assert medium["prices"]["DE"] == {
        "market": "DE", "currency": "EUR", "amount": 2399, "compare_at": 3299,
        "formatted": "23,99 €", "compare_at_formatted": "32,99 €"}
    with db.read() as session:
        levels = inventory.stock_of(session, [v["id"] for v in product["variants"]])
    assert len(levels) == 2 and all(level.available == 0 for level in levels.values())


def test_product_validation_names_exact_field_paths(make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    url = f"/api/v1/shops/{shop['id']}/products"

    def field(body: dict[str, Any]) -> str:
        response = seller.post(url, json=body)
        assert 400 <= response.status_code < 500, response.text
        return str(response.json()["error"]["field"])

    body = product_body()
    body["variants"][1]["prices"]["DE"]["amount"] = 0
    assert field(body) == "variants.1.prices.DE.amount"
    body = product_body()
    body["variants"][1]["prices"]["DE"]["compare_at"] = 100
    assert field(body) == "variants.1.prices.DE.compare_at"
    body = product_body()
    body["variants"][0]["prices"]["DE"]["amount"] = "lots"
    assert field(body) == "variants.0.prices.DE.amount"
    body = product_body()
    body["variants"][1]["options"] = ["S"]
    assert field(body) == "variants.1.options"
    body = product_body()
    body["variants"][1]["sku"] = ""
    assert field(body) == "variants.1.sku"
    assert field(product_body(status="published")) == "status"
    assert field({**product_body(), "options": ["a", "b", "c", "d"]}) == "options"
    assert field({**product_body(), "tags": [f"t{i}" for i in range(21)]}) == "tags"
    make_product(seller, shop["id"], title="Taken")
    clash = seller.post(url, json=product_body(title="Taken again"))
    assert clash.status_code == 409 and clash.json()["error"]["field"] == "variants.0.sku"


def test_update_and_replace_variants_keeps_ids_of_matching_skus(make_user: Any,
                                                                db: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    product = make_product(seller, shop["id"], title="Polo")
    small, medium = product["variants"]
    seller.post(f"/api/v1/variants/{small['id']}/stock/receipts", json={"quantity": 7})

    patched = seller.patch(f"/api/v1/products/{product['id']}",
                           json={"tags": ["New", " new", "Sale"], "status": "draft"})
    assert patched.json()["tags"] == ["new", "sale"] and patched.json()["status"] == "draft"

    replaced = seller.put(f"/api/v1/products/{product['id']}/variants", json={
        "options": ["Size", "Colour"],
        "variants": [
            {"sku": "Polo-L", "options": ["L", "Blue"], "prices": {"DE": {"amount": 3000}}},
            {"sku": "Polo-S", "options": ["S", "Blue"], "prices": {"UK": {"amount": 1500}}},
        ],
    })
    assert replaced.status_code == 200, replaced.text
    variants = replaced.json()["variants"]
    assert [v["sku"] for v in variants] == ["Polo-L", "Polo-S"]
    assert variants[1]["id"] == small["id"] and variants[1]["available"] == 7
    assert variants[1]["options"] == ["S", "Blue"] and list(variants[1]["prices"]) == ["UK"]
    assert medium["sku"] not in {v["sku"] for v in variants}
    with db.read() as session:
        assert variants[0]["id"] in inventory.stock_of(session, [variants[0]["id"]])

    # A variant with stock history cannot silently disappear.
    dropped = seller.put(f"/api/v1/products/{product['id']}/variants", json={
        "variants": [{"sku": "Polo-L", "options": ["L", "Blue"], "prices": {}}]})
    assert dropped.status_code == 409 and dropped.json()["error"]["field"] == "variants"


def test_a_variant_that_orders_refer_to_cannot_be_removed(make_user: Any, db: Any) -> None:
    """Whatever refers to a variant keeps it: here an order line with no stock history (the
    catalog asks the database, which knows every table that points at variants)."""
    seller, buyer = make_user("seller"), make_user()
    shop = make_shop(seller)
    product = make_product(seller, shop["id"], title="Polo")
    small, medium = product["variants"]
    with db.transaction() as session:
        checkout = Checkout(buyer_id=buyer.id, market="UK", currency="GBP", subtotal=2099,
                            shipping=0, tax=350, total=2099, ship_to={})
        session.add(checkout)
        session.flush()
        order = Order(number="TEST-1", checkout_id=checkout.id, buyer_id=buyer.id,
                      shop_id=shop["id"], market="UK", currency="GBP", tax_inclusive=True,
                      subtotal=2099, shipping=0, tax=350, total=2099, ship_to={})
        order.lines = [OrderLine(variant_id=medium["id"], product_title="Polo",
                                 variant_title="M", sku=medium["sku"], quantity=1,
                                 unit_price=2099, line_total=2099, tax=350)]
        session.add(order)

    only_small = {"variants": [{"sku": small["sku"], "options": ["S"], "prices": {}}]}
    refused = seller.put(f"/api/v1/products/{product['id']}/variants", json=only_small)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "variant_in_use"
    assert medium["sku"] in refused.json()["error"]["message"]
    kept = seller.get(f"/api/v1/products/{product['id']}").json()["variants"]
    assert [v["id"] for v in kept] == [small["id"], medium["id"]]


def test_visibility_by_market_status_and_shipping(make_user: Any, client: TestClient) -> None:
    seller = make_user("seller")
    shipping_de_only = make_shop(seller, name="Local", markets={"DE": 499, "FR": 599})
    ships_everywhere = make_shop(seller, name="Global",
                                 markets={"DE": 1, "FR": 1, "UK": 1, "US": 1})
    priced_de = make_product(seller, ships_everywhere["id"], title="Priced DE",
                             prices={"DE": 1000})
    not_shipped = make_product(seller, shipping_de_only["id"], title="Not Shipped UK",
                               prices={"UK": 1000, "DE": 1000})
    draft = make_product(seller, ships_everywhere["id"], title="Draft Item", status="draft")

    def titles(market: str) -> set[str]:
        response = client.get("/api/v1/products", params={"market": market})
        assert response.status_code == 200
        return {item["title"] for item in response.json()["items"]}

    assert titles("DE") == {"Priced DE", "Not Shipped UK"}
    assert titles("FR") == set()
    assert titles("UK") == set()
    assert client.get(f"/api/v1/products/{priced_de['id']}?market=DE").status_code == 200
    hidden = client.get(f"/api/v1/products/{priced_de['id']}?market=FR")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_in_market"
    assert client.get(f"/api/v1/products/{not_shipped['id']}?market=UK").status_code == 404
    assert client.get(f"/api/v1/products/{draft['id']}?market=DE").status_code == 404
    # The owner sees own drafts, and all statuses in the shop list.
    assert seller.get(f"/api/v1/products/{draft['id']}").json()["status"] == "draft"
    own = seller.get(f"/api/v1/shops/{ships_everywhere['id']}/products?market=DE").json()
    assert {p["title"] for p in own} == {"Priced DE", "Draft Item"}
    public = client.get(f"/api/v1/shops/{ships_everywhere['id']}/products?market=DE").json()
    assert {p["title"] for p in public} == {"Priced DE"}


def test_browse_search_by_title_and_tag_with_market_prices(make_user: Any,
                                                           client: TestClient) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    shirt = make_product(seller, shop["id"], title="Linen Shirt")
    make_product(seller, shop["id"], title="Wool Hat", tags=["Winter", "Accessories"])
    seller.post(f"/api/v1/variants/{shirt['variants'][1]['id']}/stock/receipts",
                json={"quantity": 2})

    def search(**params: str) -> list[dict[str, Any]]:
        response = client.get("/api/v1/products", params={"market": "DE", **params})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    assert [p["title"] for p in search(q="LINEN")] == ["Linen Shirt"]
    assert [p["title"] for p in search(q="winter")] == ["Wool Hat"]
    assert [p["title"] for p in search(tag="Accessories")] == ["Wool Hat"]
    assert search(tag="access") == []
    assert search(q="100%") == []
    card = search(q="shirt")[0]
    assert card["price"] == 2299 and card["price_varies"] is True
    assert card["currency"] == "EUR" and card["price_formatted"] == "22,99 €"
    assert card["tax_note"] == "incl. 19% VAT" and card["shop_name"] == "Tee Shop"
    assert card["in_stock"] is True and card["image_url"] is None
    hat = search(q="hat")[0]
    assert hat["in_stock"] is False
    us = client.get("/api/v1/products", params={"market": "US", "q": "hat"}).json()
    assert us["items"][0]["tax_note"] == "plus applicable sales tax"
    assert us["items"][0]["price_formatted"] == "$24.99"
    paged = client.get("/api/v1/products", params={"market": "DE", "per_page": 1, "page": 2})
    assert paged.json()["total"] == 2 and len(paged.json()["items"]) == 1
    bad = client.get("/api/v1/products", params={"market": "XX"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "market"


def test_browse_defaults_to_the_visitors_market(make_user: Any, client: TestClient) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    make_product(seller, shop["id"], title="Only US", prices={"US": 1500})
    german = client.get("/api/v1/products", headers={"Accept-Language": "de-DE"}).json()
    assert german["market"] == "DE" and german["items"] == []
    american = client.get("/api/v1/products", headers={"Accept-Language": "en-US"}).json()
    assert [p["title"] for p in american["items"]] == ["Only US"]
