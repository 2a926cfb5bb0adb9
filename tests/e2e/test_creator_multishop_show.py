"""Acceptance: a creator hosts her own show with two shops' products. She schedules it from
the form (her affiliate plans' products, from both shops), goes live and pins each product;
a viewer on a phone buys both in one tap each, one order per shop; the creator proposes a
flash sale of the second shop's product, its seller approves it on the consent page, and it
starts in the room; the creator's earnings show both commissions. Phone and desktop.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewContext, Screenshot
from tests.e2e.scene import Account, ok, sign_up
from tests.e2e.test_live_room import browser_for

pytestmark = pytest.mark.e2e


def shop_with_product(server: LiveServer, owner: Account, shop: str, product: str,
                      amount: int, shipping: int) -> tuple[int, int]:
    """(product, shop): a shop shipping to the UK with one product in stock."""
    created = ok(owner.http.post("/api/v1/shops", json={
        "name": shop, "markets": [{"market": "UK", "shipping": shipping}]}))
    made = ok(owner.http.post(f"/api/v1/shops/{created['id']}/products", json={
        "title": product, "status": "active", "options": ["Size"], "variants": [
            {"sku": f"SKU-{uuid.uuid4().hex[:6]}", "options": ["One size"],
             "prices": {"UK": {"amount": amount}}}]}))
    ok(owner.http.post(f"/api/v1/variants/{made['variants'][0]['id']}/stock/receipts",
                       json={"quantity": 30, "note": "e2e"}))
    return int(made["id"]), int(created["id"])


@pytest.fixture
def people(live_server: LiveServer) -> Iterator[dict[str, Account]]:
    accounts = {"creator": sign_up(live_server, "creator", "Nina Live"),
                "scarves": sign_up(live_server, "seller", "Sam Scarves"),
                "prints": sign_up(live_server, "seller", "Jonas Prints"),
                "viewer": sign_up(live_server, "buyer", "Vera Viewer")}
    viewer = accounts["viewer"]
    ok(viewer.http.post("/api/v1/me/addresses", json={
        "full_name": "Vera Viewer", "line1": "1 High Street", "city": "London",
        "postcode": "N1 1AA", "country": "GB", "is_default": True}))
    ok(viewer.http.post("/api/v1/payment-methods", json={
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034,
                 "cvc": "123"}, "make_default": True}))
    yield accounts
    for account in accounts.values():
        account.http.close()


def test_a_creator_sells_two_shops_products_in_her_own_show(
        live_server: LiveServer, people: dict[str, Account], new_context: NewContext,
        screenshot: Screenshot) -> None:
    creator, viewer_account = people["creator"], people["viewer"]
    scarf, scarf_shop = shop_with_product(live_server, people["scarves"], "Thames Scarves",
                                          "Silk Scarf", 2400, 399)
    city_print, print_shop = shop_with_product(live_server, people["prints"], "Kiez Prints",
                                               "City Print", 1200, 299)
    # One shop opens its scarf to every creator at 10%; the other invites Nina at 15%.
    ok(people["scarves"].http.post(
        f"/api/v1/shops/{scarf_shop}/affiliate-plans",
        json={"product_id": scarf, "kind": "open", "rate_bp": 1000},
        headers={"Idempotency-Key": uuid.uuid4().hex}))
    invitation = ok(people["prints"].http.post(
        f"/api/v1/shops/{print_shop}/affiliate-plans",
        json={"product_id": city_print, "kind": "targeted", "rate_bp": 1500,
              "creator_id": creator.id,
              "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()},
        headers={"Idempotency-Key": uuid.uuid4().hex}))
    ok(creator.http.post(f"/api/v1/affiliate-plans/{invitation['id']}/accept"))

    # Nina schedules her own show: both shops' products are offered, with their rates.
    host = browser_for(new_context, live_server, creator, "creator", DESKTOP).new_page()
    host.goto("/seller/shows/new?shop_id=own")
    form = host.locator("#schedule-form")
    expect(form).to_contain_text("Your own show")
    form.locator("input[name=title]").fill("Nina's picks")
    form.locator("input[name=scheduled_at]").fill(
        (datetime.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Silk Scarf · Thames Scarves · 10%").check()
    form.get_by_label("City Print · Kiez Prints · 15%").check()
    screenshot(host, "creator-show-00-schedule-desktop")
    form.get_by_role("button", name="Schedule show").click()
    expect(host).to_have_url(re.compile(r"/seller/shows\?created=\d+$"))
    shows = ok(creator.http.get("/api/v1/shows?status=scheduled"))
    [show] = [s for s in shows if s["title"] == "Nina's picks"]
    assert show["shop_id"] is None and sorted(show["product_ids"]) == sorted([scarf, city_print])

    host.goto(f"/shows/{show['id']}/control")
    host.get_by_role("button", name="Go live").click()
    expect(host.locator("#show-status")).to_have_text("live")

    viewer = browser_for(new_context, live_server, viewer_account, "viewer", PHONE).new_page()
    viewer.goto(f"/shows/{show['id']}")
    expect(viewer.locator("#room")).to_be_visible()
    card = viewer.locator("#pinned-card .product-tile")

    # Each product pinned in turn, bought in one tap: an order from each shop.
    numbers = []
    for product_id, title, shop in ((scarf, "Silk Scarf", "Thames Scarves"),
                                    (city_print, "City Print", "Kiez Prints")):
        host.locator(f".pin-button[data-product-id='{product_id}']").click()
        expect(card.locator(".tile-title")).to_have_text(title)
        expect(card.locator(".tile-shop")).to_have_text(f"from {shop}")
        expect(card.locator(".tile-total")).to_contain_text("shipping")
        if not numbers:
            screenshot(viewer, "creator-show-01-room-phone")
        card.get_by_role("button", name="Buy now").click()
        confirmation = viewer.locator("#confirmation")
        expect(confirmation).to_be_visible()
        numbers.append(viewer.locator("#confirmation-number").inner_text())
        confirmation.get_by_role("button", name="Back to the show").click()
    assert len(set(numbers)) == 2
    for number in numbers:
        expect(host.locator(f"#orders-list [data-order-number='{number}']")).to_be_visible()

    # A flash sale of the print: proposed to its shop, approved there, then started.
    sale = host.locator("#sale-form")
    print_option = sale.locator("option", has_text="City Print").get_attribute("value")
    assert print_option
    sale.locator("select[name=variant_id]").select_option(value=print_option)
    sale.locator("input[name=price_UK]").fill("9.00")
    sale.locator("input[name=quantity]").fill("5")
    sale.get_by_role("button", name="Propose to the shop").click()
    expect(host.locator("#proposals")).to_contain_text("proposed")

    seller = browser_for(new_context, live_server, people["prints"], "seller", PHONE).new_page()
    seller.goto("/seller/sale-proposals")
    proposal = seller.locator(".proposal").first
    expect(proposal).to_contain_text("City Print · One size")
    expect(proposal).to_contain_text("Nina Live")
    expect(proposal).to_contain_text("£9.00")
    screenshot(seller, "creator-show-02-consent-phone")
    proposal.get_by_role("button", name="Approve").click()
    expect(seller.locator(".proposal").first).to_contain_text("approved")
    seller.set_viewport_size(DESKTOP)
    screenshot(seller, "creator-show-03-consent-desktop")

    start = host.locator("#proposals .start-proposal")
    expect(start).to_be_visible(timeout=8000)
    start.click()
    expect(host.locator("#current-sale")).to_be_visible()
    expect(viewer.locator("#sale-banner #sale-price")).to_have_text("£9.00")
    screenshot(viewer, "creator-show-04-sale-phone")
    screenshot(host, "creator-show-05-control-desktop")

    # Nina's earnings: a commission from each shop (10% of £20.00 net, 15% of £10.00 net).
    host.goto("/creators/earnings")
    lines = host.locator("tr.earning")
    expect(lines).to_have_count(2)
    expect(host.locator("table.earnings")).to_contain_text("Silk Scarf")
    expect(host.locator("table.earnings")).to_contain_text("City Print")
    expect(host.locator(".pending[data-currency=GBP]")).to_have_text("£3.50")
    screenshot(host, "creator-show-06-earnings-desktop")
    host.set_viewport_size(PHONE)
    screenshot(host, "creator-show-07-earnings-phone")
