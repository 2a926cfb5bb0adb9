from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.catalog.helpers import make_product, make_shop

HTML = {"Accept": "text/html"}


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def set_market(client: Any, market: str) -> None:
    token = csrf_of(client.get("/", headers=HTML).text)
    client.post("/market", data={"csrf_token": token, "market": market, "next": "/"})


def test_home_lists_cards_searches_and_filters_by_tag(make_user: Any,
                                                      client: TestClient) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    shirt = make_product(seller, shop["id"], title="Linen <Shirt>")
    make_product(seller, shop["id"], title="Wool Hat", tags=["winter"])
    set_market(client, "DE")
    home = client.get("/products", headers=HTML)  # the catalogue ("/" is the feed)
    assert home.status_code == 200
    assert f'<a class="product-card" href="/products/{shirt["id"]}">' in home.text
    assert "Linen &lt;Shirt&gt;" in home.text and "<Shirt>" not in home.text
    assert "from 22,99 €" in home.text
    found = client.get("/?q=hat", headers=HTML).text
    assert "Wool Hat" in found and "Linen" not in found
    tagged = client.get("/?tag=winter", headers=HTML).text
    assert "Wool Hat" in tagged and "Linen" not in tagged
    empty = client.get("/?q=nothing-like-this", headers=HTML)
    assert empty.status_code == 200 and "Nothing found" in empty.text


def test_product_page_contract_and_tax_notes(make_user: Any, client: TestClient) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    product = make_product(seller, shop["id"], title="Linen Shirt")
    small, medium = product["variants"]
    seller.post(f"/api/v1/variants/{medium['id']}/stock/receipts", json={"quantity": 3})
    set_market(client, "DE")
    page = client.get(f"/products/{product['id']}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert '<form id="add-to-cart" method="post" action="/cart/items"' in text
    assert '<select name="variant_id"' in text
    assert f'<option value="{small["id"]}"' in text and f'<option value="{medium["id"]}"' in text
    assert '<input name="quantity" type="number" value="1"' in text
    assert "Add to cart</button>" in text and "incl. 19% VAT" in text
    # The in-stock variant is preselected; its compare-at price shows struck out.
    assert f'value="{medium["id"]}" data-price="23,99 €"' in text
    assert "Only 3 left" in text and "32,99 €" in text
    assert "Soft &lt;b&gt;linen&lt;/b&gt;\nSecond line" in text
    assert "onclick" not in text and "<script>" not in text

    american = make_user("buyer")
    set_market(american, "US")
    us = american.get(f"/products/{product['id']}", headers=HTML).text
    assert "plus applicable sales tax" in us and "$24.99" in us


def test_sold_out_disables_the_button(make_user: Any, client: TestClient) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    product = make_product(seller, shop["id"])
    set_market(client, "DE")
    text = client.get(f"/products/{product['id']}", headers=HTML).text
    assert "Sold out" in text
    assert re.search(r'id="add-button" disabled>Add to cart', text)


def test_product_not_sold_in_market_is_404_with_a_hint(make_user: Any,
                                                        client: TestClient) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"DE": 499})
    product = make_product(seller, shop["id"], prices={"DE": 1000})
    set_market(client, "FR")
    page = client.get(f"/products/{product['id']}", headers=HTML)
    assert page.status_code == 404
    assert "Not available in France" in page.text and "Deutschland" in page.text
    assert client.get("/products/99999", headers=HTML).status_code == 404


def test_seller_pages_render_and_create_shop_and_product(make_user: Any) -> None:
    seller = make_user("seller")
    dashboard = seller.get("/seller", headers=HTML)
    assert dashboard.status_code == 200 and "Open a shop" in dashboard.text
    token = csrf_of(dashboard.text)
    created = seller.post("/seller/shops", data={
        "csrf_token": token, "name": "Form Shop", "description": "",
        "market_DE": "on", "shipping_DE": "4.99", "market_US": "on", "shipping_US": "5",
    }, follow_redirects=False)
    assert created.status_code == 303
    shop = seller.get("/api/v1/shops/mine").json()[0]
    assert {m["market"]: m["shipping"] for m in shop["markets"]} == {"DE": 499, "US": 500}

    bad = seller.post("/seller/shops", data={
        "csrf_token": token, "name": "Other", "market_DE": "on", "shipping_DE": "4.999"})
    assert bad.status_code == 422 and "At most 2 decimals" in bad.text
    assert 'value="Other"' in bad.text

    products_url = f"/seller/shops/{shop['id']}/products"
    assert seller.get(products_url, headers=HTML).status_code == 200
    made = seller.post(products_url, data={
        "csrf_token": token, "title": "Form Tee", "description": "x", "tags": "Cotton, tee",
        "status": "active", "option_0": "Size",
        "variant-0-sku": "FT-S", "variant-0-opt0": "S", "variant-0-price-DE": "19.99",
        "variant-0-compare-DE": "", "variant-1-sku": "", "variant-2-sku": "FT-M",
        "variant-2-opt0": "M", "variant-2-price-DE": "21", "variant-2-weight": "250",
    }, follow_redirects=False)
    assert made.status_code == 303, made.text
    product_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    product = seller.get(f"/api/v1/products/{product_id}?market=DE").json()
    assert product["tags"] == ["cotton", "tee"]
    assert [(v["sku"], v["prices"]["DE"]["amount"], v["weight_grams"])
            for v in product["variants"]] == [("FT-S", 1999, 0), ("FT-M", 2100, 250)]

    wrong = seller.post(products_url, data={
        "csrf_token": token, "title": "Bad", "variant-0-sku": "B-1",
        "variant-0-price-DE": "0"})
    assert wrong.status_code == 422
    assert "Variant row 1, prices.DE.amount: Price must be greater than zero" in wrong.text

    edit = seller.get(f"/seller/products/{product_id}", headers=HTML)
    assert edit.status_code == 200 and 'value="FT-M"' in edit.text and 'value="21.00"' in edit.text
    assert 'enctype="multipart/form-data"' in edit.text

    stock_url = f"/seller/shops/{shop['id']}/stock"
    assert "FT-S" in seller.get(stock_url, headers=HTML).text
    variant_id = product["variants"][0]["id"]
    received = seller.post(f"{stock_url}/{variant_id}",
                           data={"csrf_token": token, "quantity": "12"})
    assert received.status_code == 200 and "Stock received for FT-S" in received.text
    refused = seller.post(f"{stock_url}/{variant_id}", data={"csrf_token": token,
                                                            "quantity": "-3"})
    assert refused.status_code == 422 and "whole number" in refused.text


def test_seller_forms_need_the_csrf_token(make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller)
    product = make_product(seller, shop["id"])
    for url in ("/seller/shops", f"/seller/shops/{shop['id']}",
                f"/seller/shops/{shop['id']}/products", f"/seller/products/{product['id']}",
                f"/seller/products/{product['id']}/variants",
                f"/seller/products/{product['id']}/images"):
        assert seller.post(url, data={"title": "x", "name": "x"}).status_code == 403, url


def test_buyers_and_strangers_cannot_use_seller_pages(make_user: Any,
                                                      client: TestClient) -> None:
    buyer, seller = make_user("buyer"), make_user("seller")
    shop = make_shop(seller)
    assert buyer.get("/seller", headers=HTML).status_code == 403
    assert buyer.get(f"/seller/shops/{shop['id']}/products", headers=HTML).status_code == 403
    anonymous = client.get("/seller", headers=HTML, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_seller_uploads_and_deletes_images_through_the_form(make_user: Any) -> None:
    from tests.catalog.test_images import image_bytes

    seller = make_user("seller")
    shop = make_shop(seller)
    product = make_product(seller, shop["id"])
    edit_url = f"/seller/products/{product['id']}"
    token = csrf_of(seller.get(edit_url, headers=HTML).text)
    uploaded = seller.post(f"{edit_url}/images", data={"csrf_token": token, "alt": "Front"},
                           files={"file": ("shirt.png", image_bytes("PNG"), "image/png")})
    assert uploaded.status_code == 200 and 'alt="Front"' in uploaded.text
    wrong = seller.post(f"{edit_url}/images", data={"csrf_token": token},
                        files={"file": ("x.png", b"just text", "image/png")})
    assert wrong.status_code == 422
    assert "file: The file is not a readable JPEG, PNG or WebP image" in wrong.text
    image_id = seller.get(f"/api/v1/products/{product['id']}").json()["images"][0]["id"]
    seller.post(f"{edit_url}/images/{image_id}/delete", data={"csrf_token": token})
    assert seller.get(f"/api/v1/products/{product['id']}").json()["images"] == []
