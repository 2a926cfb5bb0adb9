"""Acceptance: a seller connects a Shopify store (the fake one, a real HTTP server on
loopback) on the seller's page and imports its products; a viewer buys one in a live room
(the store's stock drops, the order appears there); the seller changes the stock in the
store's admin (the room's stock follows within 2 s) and fulfils the order there (the buyer's
order page shows the tracking number)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from liveshop.integrations.shopify.fake import DEFAULT_TOKEN, FakeShopify
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewContext, Screenshot
from tests.e2e.scene import Account, ok, sign_up
from tests.e2e.test_live_room import browser_for

pytestmark = pytest.mark.e2e

# A count changed in Shopify reaches the live room within this long.
STOCK_DEADLINE_MS = 2000


@pytest.fixture
def store(live_server: LiveServer) -> Iterator[FakeShopify]:
    fake = FakeShopify(currency="GBP")
    sku = f"HARBOUR-MUG-{uuid.uuid4().hex[:6]}"
    fake.add_product("harbour-mug", "Harbour Mug", [
        {"sku": sku, "price": "25.00", "available": 20, "grams": 350}],
        description_html="<p>Stoneware, <b>dishwasher safe</b>.</p>", tags=["kitchen"])
    fake.webhook_url = f"{live_server.url}/integrations/shopify/webhooks"
    fake.start()
    yield fake
    fake.stop()


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.1)


def _viewer(server: LiveServer) -> Account:
    viewer = sign_up(server, "buyer", "Vera Viewer")
    ok(viewer.http.post("/api/v1/me/addresses", json={
        "full_name": "Vera Viewer", "line1": "1 High Street", "city": "London",
        "postcode": "N1 1AA", "country": "GB", "is_default": True}))
    ok(viewer.http.post("/api/v1/payment-methods", json={
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034,
                 "cvc": "123"}, "make_default": True}))
    return viewer


def test_a_connected_store_stays_in_sync(live_server: LiveServer, store: FakeShopify,
                                         new_context: NewContext,
                                         screenshot: Screenshot) -> None:
    seller = sign_up(live_server, "seller", "Sam Seller")
    shop = ok(seller.http.post("/api/v1/shops", json={
        "name": "Harbour Goods", "description": "From our Shopify store.",
        "markets": [{"market": "UK", "shipping": 399}]}))
    sku = store.state()["products"][0]["variants"][0]["sku"]

    # The seller connects the store and pulls its products on the Shopify page.
    page = browser_for(new_context, live_server, seller, "seller", DESKTOP).new_page()
    page.goto(f"/seller/shops/{shop['id']}/shopify")
    page.get_by_label("Store domain").fill(store.domain)
    page.get_by_label("Admin API access token").fill(DEFAULT_TOKEN)
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Connected")
    assert DEFAULT_TOKEN not in page.content()
    page.get_by_role("button", name="Pull products and stock").click()
    expect(page.get_by_role("status")).to_contain_text("1 created")
    expect(page.locator("#last-sync")).to_contain_text("1 created")
    screenshot(page, "shopify-01-sync-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "shopify-01-sync-phone")

    # The product, live in a show, pinned.
    product = ok(seller.http.get(f"/api/v1/shops/{shop['id']}/products"))[0]
    assert product["title"] == "Harbour Mug"
    show = ok(seller.http.post("/api/v1/shows", json={
        "shop_id": shop["id"], "title": "Harbour live", "markets": ["UK"],
        "scheduled_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        "product_ids": [product["id"]]}))
    ok(seller.http.post(f"/api/v1/shows/{show['id']}/live"))
    ok(seller.http.put(f"/api/v1/shows/{show['id']}/pin", json={"product_id": product["id"]}))

    # A viewer buys one here: Shopify's stock drops and the order appears there.
    viewer = _viewer(live_server)
    room = browser_for(new_context, live_server, viewer, "viewer", PHONE).new_page()
    room.goto(f"/shows/{show['id']}")
    card = room.locator("#pinned-card .product-tile")
    expect(card.locator(".tile-stock")).to_have_text("20 left")
    card.get_by_role("button", name="Buy now").click()
    expect(room.locator("#confirmation")).to_be_visible()
    number = room.locator("#confirmation-number").inner_text()
    eventually(lambda: len(store.state()["orders"]) == 1)
    assert store.available(sku) == 19
    assert store.state()["orders"][0]["tags"] == [f"liveshop-{number}".lower(), "liveshop"]
    room.get_by_role("button", name="Back to the show").click()
    expect(card.locator(".tile-stock")).to_have_text("19 left")

    # The seller counts 7 in Shopify's admin: the room shows it within 2 s.
    admin = new_context(viewport=DESKTOP, label="shopify-admin").new_page()
    admin.goto(store.url)
    admin.get_by_label(f"Available {sku}").fill("7")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator(f"td.available[data-sku='{sku}']")).to_have_text("7")
    expect(card.locator(".tile-stock")).to_have_text("7 left", timeout=STOCK_DEADLINE_MS)
    screenshot(room, "shopify-02-room-stock-phone")

    # Fulfilled in Shopify: the buyer's order page shows the carrier and tracking number.
    admin.reload()
    admin.get_by_label("Tracking number").fill("1Z999AA10123456784")
    admin.get_by_role("button", name="Fulfil").click()
    expect(admin.locator("body")).to_contain_text("Fulfilled: UPS 1Z999AA10123456784")
    order_id = next(order["id"] for order in ok(viewer.http.get("/api/v1/orders"))
                    if order["number"] == number)
    orders = browser_for(new_context, live_server, viewer, "buyer", PHONE).new_page()

    def shows_tracking() -> bool:
        orders.goto(f"/orders/{order_id}")
        return orders.locator(".tracking-number").count() > 0

    eventually(shows_tracking)
    expect(orders.locator(".tracking-number")).to_have_text("1Z999AA10123456784")
    expect(orders.locator("body")).to_contain_text(re.compile("UPS"))
    screenshot(orders, "shopify-03-buyer-tracking-phone")
