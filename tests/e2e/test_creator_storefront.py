"""Acceptance (issue 19, the creator storefront): a creator adds a product to her showcase
from the marketplace and copies its share link from her profile; a buyer on a phone follows
the link, sees whom she buys through, pays; the creator's earnings and the shop's affiliate
page show the commission attributed to the link.

The seller's shop and plan are made through the JSON API; the rest happens in Chromium.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from liveshop.orders.orm import OrderLine
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewContext, Screenshot
from tests.e2e.scene import PASSWORD, Account, ok, sign_up
from tests.e2e.test_shopping_flow import fill_or_select

pytestmark = pytest.mark.e2e

TITLE = "Glow Beanie"


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login)"))


def open_shop(server: LiveServer) -> tuple[Account, int, int]:
    seller = sign_up(server, "seller", "Hannah Host")
    shop = ok(seller.http.post("/api/v1/shops", json={
        "name": f"Glow Studio {uuid.uuid4().hex[:4]}", "description": "Things that glow.",
        "markets": [{"market": "UK", "shipping": 399}]}))
    product = ok(seller.http.post(f"/api/v1/shops/{shop['id']}/products", json={
        "title": TITLE, "description": "Reflective knit.", "status": "active",
        "options": ["Size"], "variants": [{"sku": f"BEANIE-{uuid.uuid4().hex[:6]}",
                                           "options": ["One size"],
                                           "prices": {"UK": {"amount": 2400}}}]}))
    ok(seller.http.post(f"/api/v1/variants/{product['variants'][0]['id']}/stock/receipts",
                        json={"quantity": 10, "note": "e2e"}))
    ok(seller.http.post(f"/api/v1/shops/{shop['id']}/affiliate-plans", json={
        "product_id": product["id"], "kind": "open", "rate_bp": 1000},
        headers={"Idempotency-Key": uuid.uuid4().hex}))
    return seller, shop["id"], product["id"]


def test_a_share_link_from_the_profile_earns_the_creator_the_sale(
        live_server: LiveServer, new_context: NewContext, screenshot: Screenshot) -> None:
    seller, shop_id, product_id = open_shop(live_server)
    creator_email = f"nina-{uuid.uuid4().hex[:6]}@example.com"
    signed_up = live_server.http().post("/api/v1/auth/signup", json={
        "email": creator_email, "password": PASSWORD, "display_name": "Nina Glow",
        "role": "creator"})
    assert signed_up.status_code == 201, signed_up.text

    # --- the creator, on a desktop: marketplace -> showcase -> her profile's share link ---
    creator = new_context(viewport=DESKTOP, label="creator").new_page()
    log_in(creator, creator_email)
    creator.goto("/creators/marketplace")
    offer = creator.locator(".offer", has_text=TITLE)
    expect(offer).to_contain_text("10% commission")
    screenshot(creator, "creator-01-marketplace")
    offer.get_by_role("button", name="Add to showcase").click()
    expect(creator.locator(".notice")).to_contain_text("Added to your showcase")
    creator.get_by_role("link", name=re.compile("Your page")).click()
    creator.wait_for_url(re.compile(r"/@ninaglow$"))
    expect(creator.locator("h1")).to_have_text("Nina Glow")
    share = creator.get_by_label(f"Share link for {TITLE}")
    link = share.input_value()
    assert link == f"/products/{product_id}?ref=ninaglow"
    screenshot(creator, "creator-02-profile-desktop")

    # --- the buyer, on a phone: the profile, the link, who she buys through, paying ---
    buyer = new_context(viewport=PHONE, label="buyer").new_page()
    buyer.goto("/@ninaglow")
    expect(buyer.locator(".showcase")).to_contain_text(TITLE)
    screenshot(buyer, "buyer-01-profile-phone")
    buyer.locator(".showcase a.product-card", has_text=TITLE).click()
    buyer.wait_for_url(re.compile(rf"/products/{product_id}\?ref=ninaglow$"))
    expect(buyer.locator(".via")).to_have_text(re.compile(r"via Nina Glow"))
    screenshot(buyer, "buyer-02-product-via")

    buyer.goto("/signup")
    buyer.fill("input[name=display_name]", "Vera Viewer")
    buyer.fill("input[name=email]", f"vera-{uuid.uuid4().hex[:8]}@example.com")
    buyer.fill("input[name=password]", PASSWORD)
    buyer.get_by_role("button", name="Sign up").click()
    buyer.wait_for_url(live_server.url + "/")
    buyer.get_by_role("button", name="Menu").click()
    with buyer.expect_navigation():
        buyer.select_option("#market-select", "UK")
    buyer.goto(f"/products/{product_id}")
    with buyer.expect_response(lambda r: "/cart/items" in r.url
                               and r.request.method == "POST") as added:
        buyer.locator("form#add-to-cart").get_by_role("button", name="Add to cart").click()
    assert added.value.status < 400
    buyer.goto("/checkout")
    buyer.fill("input[name=full_name]", "Vera Viewer")
    buyer.fill("input[name=line1]", "1 High Street")
    buyer.fill("input[name=city]", "London")
    buyer.fill("input[name=postcode]", "N1 1AA")
    buyer.select_option("select[name=country]", "GB")
    buyer.fill("input[name=card_number]", "4242 4242 4242 4242")
    fill_or_select(buyer, "exp_month", "12")
    fill_or_select(buyer, "exp_year", "2030")
    buyer.fill("input[name=cvc]", "123")
    buyer.get_by_role("button", name="Pay").click()
    buyer.wait_for_url(re.compile(r"/orders\?checkout=\d+"))
    # The click happened before she signed up: it became hers when she did.
    expect(buyer.locator(".thank-you")).to_contain_text("Bought via Nina Glow")
    screenshot(buyer, "buyer-03-receipt-via")

    with live_server.db.read() as session:
        line = session.scalars(select(OrderLine).order_by(OrderLine.id.desc())).first()
        assert line is not None
        assert (line.product_title, line.commission_bp) == (TITLE, 1000)
        creator_id = line.creator_id
    assert creator_id is not None

    # --- the commission, attributed: the creator's earnings and the shop's affiliate page ---
    creator.goto("/creators/earnings")
    expect(creator.locator(".earning")).to_have_count(1)
    pending = creator.locator('dd[data-funds="pending"][data-currency="GBP"]')
    expect(pending).to_have_text("£2.00")  # 10% of £20.00 net
    screenshot(creator, "creator-03-earnings")

    shop_page = new_context(viewport=PHONE, label="seller").new_page()
    cookie = seller.http.cookies.get("liveshop_session")
    assert cookie
    shop_page.context.add_cookies([{"name": "liveshop_session", "value": cookie,
                                    "url": live_server.url}])
    shop_page.goto(f"/seller/shops/{shop_id}/affiliates")
    row = shop_page.locator(".promoting-creator", has_text="Nina Glow")
    expect(row).to_contain_text("£24.00")
    expect(row).to_contain_text("£2.00")
    screenshot(shop_page, "seller-01-affiliates-phone")
