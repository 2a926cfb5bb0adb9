"""Acceptance: a buyer on a phone buys from two shops in one payment; a seller ships.

The shops and products are made through the public JSON API of the running server, the
way a seller's integration would; everything after that happens in Chromium.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from liveshop.inventory.orm import StockLevel
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewContext, Screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"
CARRIER = "DHL"
TRACKING = "JD014600003828"


@dataclass(frozen=True)
class ListedProduct:
    shop_id: int
    title: str
    # Option value (as the product page lists it) -> variant id.
    variants: dict[str, int]


@dataclass(frozen=True)
class Seller:
    email: str
    product: ListedProduct


def open_shop(server: LiveServer, shop_name: str, title: str, sizes: tuple[str, ...],
              prices: tuple[int, ...]) -> Seller:
    """Sign a seller up and list one active product with stock, shipped to Germany."""
    email = f"seller-{uuid.uuid4().hex[:8]}@example.com"
    with server.http() as http:
        signed_up = http.post("/api/v1/auth/signup", json={
            "email": email, "password": PASSWORD, "display_name": shop_name, "role": "seller"})
        assert signed_up.status_code == 201, signed_up.text
        http.headers["X-CSRF-Token"] = signed_up.json()["csrf_token"]

        shop = http.post("/api/v1/shops", json={
            "name": shop_name, "description": "Made for the browser test.",
            "markets": [{"market": "DE", "shipping": 495}]})
        assert shop.status_code == 201, shop.text
        shop_id = shop.json()["id"]

        sku = title.upper().replace(" ", "-")[:20]
        product = http.post(f"/api/v1/shops/{shop_id}/products", json={
            "title": title, "description": f"{title}, in two sizes.", "tags": ["e2e"],
            "status": "active", "options": ["Size"],
            "variants": [
                {"sku": f"{sku}-{size}", "options": [size],
                 "prices": {"DE": {"amount": amount}}}
                for size, amount in zip(sizes, prices, strict=True)
            ]})
        assert product.status_code == 201, product.text
        variants = product.json()["variants"]
        for variant in variants:
            receipt = http.post(f"/api/v1/variants/{variant['id']}/stock/receipts",
                                json={"quantity": 5, "note": "e2e"})
            assert receipt.status_code == 201, receipt.text
    return Seller(email, ListedProduct(shop_id, title, {
        variant["options"][0]: variant["id"] for variant in variants}))


def add_to_cart(page: Page, product: ListedProduct, size: str, shot: Screenshot,
                step: str) -> None:
    """Header search -> product card -> choose the variant -> Add to cart."""
    search = page.locator(".site-header input[name=q]")
    search.fill(product.title)
    search.press("Enter")
    page.wait_for_url(re.compile(r"/\?q="))
    card = page.locator("a.product-card", has_text=product.title)
    expect(card).to_have_count(1)
    shot(page, f"{step}-search")
    card.click()
    page.wait_for_url(re.compile(r"/products/\d+$"))

    form = page.locator("form#add-to-cart")
    choice = form.locator("select[name=variant_id] option",
                          has_text=re.compile(rf"^\s*{re.escape(size)}\b"))
    form.locator("select[name=variant_id]").select_option(choice.get_attribute("value"))
    expect(form.locator("input[name=quantity]")).to_have_value("1")
    shot(page, f"{step}-product")
    with page.expect_response(lambda r: "/cart/items" in r.url and r.request.method == "POST"
                              ) as added:
        form.get_by_role("button", name="Add to cart").click()
    assert added.value.status < 400, added.value.status
    page.wait_for_load_state()


def test_buyer_pays_two_shops_at_once_and_sees_the_seller_ship(
        live_server: LiveServer, new_context: NewContext, screenshot: Screenshot) -> None:
    berlin = open_shop(live_server, "Spree Socks", "Alpine Wool Socks", ("S", "M"),
                       (1299, 1499))
    hamburg = open_shop(live_server, "Harbour Aprons", "Harbour Linen Apron",
                        ("Short", "Long"), (3499, 3999))

    # --- the buyer, on a phone ---
    buyer = new_context(viewport=PHONE, label="buyer").new_page()
    buyer.goto("/signup")
    buyer.fill("input[name=display_name]", "Erika Mustermann")
    buyer.fill("input[name=email]", f"erika-{uuid.uuid4().hex[:8]}@example.com")
    buyer.fill("input[name=password]", PASSWORD)
    screenshot(buyer, "01-buyer-signup")
    buyer.get_by_role("button", name="Sign up").click()
    buyer.wait_for_url(live_server.url + "/")
    # On a phone the header's links and the market picker are behind its menu.
    buyer.get_by_role("button", name="Menu").click()
    expect(buyer.get_by_role("link", name="Account")).to_be_visible()

    with buyer.expect_navigation():
        buyer.select_option("#market-select", "DE")
    expect(buyer.locator("#market-select")).to_have_value("DE")
    screenshot(buyer, "02-buyer-market-de")

    add_to_cart(buyer, berlin.product, "M", screenshot, "03")
    add_to_cart(buyer, hamburg.product, "Long", screenshot, "04")

    buyer.goto("/cart")
    expect(buyer.locator("main")).to_contain_text(berlin.product.title)
    expect(buyer.locator("main")).to_contain_text(hamburg.product.title)
    screenshot(buyer, "05-cart")
    buyer.locator("a#checkout").click()
    buyer.wait_for_url(re.compile(r"/checkout$"))

    buyer.fill("input[name=full_name]", "Erika Mustermann")
    buyer.fill("input[name=line1]", "Heidestraße 17")
    buyer.fill("input[name=city]", "Köln")
    buyer.fill("input[name=postcode]", "51147")
    buyer.select_option("select[name=country]", "DE")
    buyer.fill("input[name=card_number]", "4242 4242 4242 4242")
    fill_or_select(buyer, "exp_month", "12")
    fill_or_select(buyer, "exp_year", "2030")
    buyer.fill("input[name=cvc]", "123")
    # Socks M 14.99 + 4.95 shipping, apron Long 39.99 + 4.95 shipping; VAT included.
    expect(buyer.locator("main")).to_contain_text("64,88")
    screenshot(buyer, "06-checkout")
    buyer.get_by_role("button", name="Pay").click()
    buyer.wait_for_url(re.compile(r"/orders\?checkout=\d+"))

    orders = buyer.locator("[data-order-number]")
    expect(orders).to_have_count(2)
    for index in range(2):
        expect(orders.nth(index).locator(".badge")).to_have_text("paid")
    screenshot(buyer, "07-buyer-orders-paid")

    # --- the first seller, on a desktop ---
    seller = new_context(viewport=DESKTOP, label="seller").new_page()
    seller.goto("/login")
    seller.fill("input[name=email]", berlin.email)
    seller.fill("input[name=password]", PASSWORD)
    seller.get_by_role("button", name="Log in").click()
    seller.wait_for_url(live_server.url + "/")
    seller.goto(f"/seller/shops/{berlin.product.shop_id}/orders")
    order_links = seller.locator("a[href^='/seller/orders/']")
    expect(order_links).to_have_count(1)
    screenshot(seller, "08-seller-orders")
    order_links.first.click()
    seller.wait_for_url(re.compile(r"/seller/orders/\d+$"))
    order_id = seller.url.rsplit("/", 1)[1]
    expect(seller.locator("main")).to_contain_text(berlin.product.title)

    seller.fill("input[name=carrier]", CARRIER)
    seller.fill("input[name=tracking_number]", TRACKING)
    screenshot(seller, "09-seller-order")
    seller.get_by_role("button", name="Mark shipped").click()
    expect(seller.locator("main")).to_contain_text(TRACKING)
    screenshot(seller, "10-seller-shipped")

    # --- back to the buyer ---
    buyer.goto("/orders")
    shipped = buyer.locator("[data-order-number]", has=buyer.locator(
        f"a[href='/orders/{order_id}']"))
    expect(shipped.locator(".badge")).to_have_text("shipped")
    other = buyer.locator("[data-order-number]", has_not=buyer.locator(
        f"a[href='/orders/{order_id}']"))
    expect(other.locator(".badge")).to_have_text("paid")
    screenshot(buyer, "11-buyer-orders-shipped")
    shipped.locator(f"a[href='/orders/{order_id}']").first.click()
    buyer.wait_for_url(re.compile(rf"/orders/{order_id}$"))
    expect(buyer.locator("main")).to_contain_text(TRACKING)
    expect(buyer.locator("main")).to_contain_text(CARRIER)
    screenshot(buyer, "12-buyer-order-tracking")

    # The browser saw the right things; the stock counters must agree.
    bought = {berlin.product.variants["M"], hamburg.product.variants["Long"]}
    listed = {*berlin.product.variants.values(), *hamburg.product.variants.values()}
    with live_server.db.read() as session:
        levels = {level.variant_id: level for level in session.scalars(
            select(StockLevel).where(StockLevel.variant_id.in_(listed)))}
    assert set(levels) == listed
    for variant_id, level in levels.items():
        expected_sold = 1 if variant_id in bought else 0
        assert (level.available, level.reserved, level.sold) == (
            5 - expected_sold, 0, expected_sold), variant_id


def fill_or_select(page: Page, name: str, value: str) -> None:
    """Expiry fields may be inputs or selects; the contract fixes only their names."""
    field = page.locator(f"[name={name}]")
    if field.evaluate("element => element.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)
