"""A buyer on a phone (390 x 844) and on a desktop: the header menu, a live room whose
overlays cover no text, the total a tap charges shown before the tap, the flash-sale
banner that opens the sale's variant, and the debug panel and API tokens kept for those
who need them. Screenshots are saved under tests/e2e/artifacts (and SHOTS_DIR if set)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, ViewportSize, expect

from liveshop.app import SESSION_COOKIE
from liveshop.orders.orm import Order, OrderLine
from tests.e2e.conftest import PHONE, LiveServer, NewContext, Screenshot
from tests.e2e.scene import Account, ok, sign_up

pytestmark = pytest.mark.e2e

WIDE: ViewportSize = {"width": 1366, "height": 900}
# A 390 x 844 phone with the browser's address and tool bars showing.
SHORT_PHONE: ViewportSize = {"width": 390, "height": 700}
JACKET = "Glow Jacket"
SCARF = "Night Scarf"
# The jacket at £29.99 plus £3.99 shipping, VAT included: what a tap charges.
JACKET_PRICE, SHIPPING = 2999, 399
JACKET_TOTAL = "£33.98"
# VAT contained in the price (£5.00) and in the shipping (£0.67).
JACKET_VAT = "£5.67"
SALE_PRICE = 1500


@dataclass
class Room:
    host: Account
    viewer: Account
    show_id: int
    jacket: dict[str, Any]
    scarf: dict[str, Any]


def _product(host: Account, shop_id: int, title: str, options: list[list[str]],
             amount: int) -> dict[str, Any]:
    product: dict[str, Any] = ok(host.http.post(f"/api/v1/shops/{shop_id}/products", json={
        "title": title, "description": "Soft.", "status": "active", "options": ["Size", "Colour"],
        "variants": [{"sku": f"{title[:4]}-{uuid.uuid4().hex[:8]}", "options": values,
                      "prices": {"UK": {"amount": amount}}} for values in options]}))
    for variant in product["variants"]:
        ok(host.http.post(f"/api/v1/variants/{variant['id']}/stock/receipts",
                          json={"quantity": 20, "note": "e2e"}))
    return product


@pytest.fixture
def room(live_server: LiveServer) -> Iterator[Room]:
    """A live UK show pinning a jacket (sizes and colours); a scarf in its lineup; a viewer
    with a UK address and a saved card."""
    host = sign_up(live_server, "seller", "Hannah Host")
    shop = ok(host.http.post("/api/v1/shops", json={
        "name": "Glow Studio", "description": "Jackets that glow.",
        "markets": [{"market": "UK", "shipping": SHIPPING}]}))
    jacket = _product(host, shop["id"], JACKET,
                      [["S", "Black"], ["M", "Black"], ["XL", "Burgundy"]], JACKET_PRICE)
    scarf = _product(host, shop["id"], SCARF, [["Short", "Red"], ["Long", "Burgundy"]], 2500)
    show = ok(host.http.post("/api/v1/shows", json={
        "shop_id": shop["id"], "title": "Friday glow drop", "markets": ["UK"],
        "scheduled_at": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
        "product_ids": [jacket["id"], scarf["id"]]}))
    ok(host.http.post(f"/api/v1/shows/{show['id']}/live"))
    ok(host.http.put(f"/api/v1/shows/{show['id']}/pin", json={"product_id": jacket["id"]}))
    viewer = sign_up(live_server, "buyer", "Vera Viewer")
    ok(viewer.http.post("/api/v1/me/addresses", json={
        "full_name": "Vera Viewer", "line1": "1 High Street", "city": "London",
        "postcode": "N1 1AA", "country": "GB", "is_default": True}))
    ok(viewer.http.post("/api/v1/payment-methods", json={
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034,
                 "cvc": "123"}, "make_default": True}))
    try:
        yield Room(host, viewer, show["id"], jacket, scarf)
    finally:
        host.http.close()
        viewer.http.close()


def browser_of(new_context: NewContext, server: LiveServer, account: Account,
               viewport: ViewportSize, label: str) -> Page:
    context = new_context(viewport=viewport, label=label)
    context.add_cookies([{"name": SESSION_COOKIE, "value": account.http.cookies[SESSION_COOKIE],
                          "url": server.url}])
    return context.new_page()


def shot(screenshot: Screenshot, page: Page, name: str) -> None:
    """Saved with the other artifacts, and copied to SHOTS_DIR when it is set."""
    path = screenshot(page, name)
    if os.environ.get("SHOTS_DIR"):
        target = Path(os.environ["SHOTS_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not displayed"
    return dict(found)


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"  # type: ignore[index]


def test_the_phone_menu_reaches_every_link_and_the_room_header_is_one_slim_row(
        live_server: LiveServer, room: Room, new_context: NewContext,
        screenshot: Screenshot) -> None:
    page = browser_of(new_context, live_server, room.host, PHONE, "seller")
    page.goto("/")
    links = [page.get_by_role("link", name=name, exact=True) for name in ("Shows", "Alerts")]
    log_out = page.get_by_role("button", name="Log out")
    for hidden in (*links, log_out):
        expect(hidden).to_be_hidden()
    menu = page.get_by_role("button", name="Menu", exact=True)
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for shown in (*links, log_out, page.locator("#market-select")):
        expect(shown).to_be_visible()
        area = box(shown)
        assert area["x"] >= 0 and area["x"] + area["width"] <= PHONE["width"]
        assert area["y"] + area["height"] <= PHONE["height"]
    no_horizontal_overflow(page)
    shot(screenshot, page, "buyer-menu-open-phone")
    page.keyboard.press("Escape")
    expect(links[1]).to_be_hidden()
    menu.click()
    links[1].click()
    page.wait_for_url(re.compile(r"/notifications$"))

    # In the live room the header is one slim row: the stage gets the screen.
    page.goto(f"/shows/{room.show_id}")
    expect(page.locator("#pinned-card .tile-title")).to_have_text(JACKET)
    header = box(page.locator(".site-header"))
    assert header["height"] <= 56, f"the room's header is {header['height']}px tall"
    no_horizontal_overflow(page)

    # Wide screens show every link inline, without the menu button.
    page.set_viewport_size(WIDE)
    expect(menu).to_be_hidden()
    expect(links[0]).to_be_visible()
    expect(log_out).to_be_visible()


def _option_text_fits(select: Locator) -> list[str]:
    """The options whose label would be cut off in the closed select (measured in its font,
    leaving room for its padding and arrow)."""
    return list(select.evaluate("""select => {
        const style = getComputedStyle(select);
        const context = document.createElement("canvas").getContext("2d");
        context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const room = select.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight) - 20;
        return [...select.options].map((o) => o.textContent)
            .filter((text) => context.measureText(text).width > room);
    }"""))


def test_the_phone_room_overlays_cover_no_text(
        live_server: LiveServer, room: Room, new_context: NewContext,
        screenshot: Screenshot) -> None:
    page = browser_of(new_context, live_server, room.viewer, PHONE, "viewer")
    page.goto(f"/shows/{room.show_id}")
    tile = page.locator("#pinned-card .product-tile")
    expect(tile.locator(".tile-title")).to_have_text(JACKET)
    ok(room.host.http.post(f"/api/v1/shows/{room.show_id}/sales", json={
        "variant_id": room.scarf["variants"][1]["id"], "prices": {"UK": SALE_PRICE},
        "quantity": 5, "duration_seconds": 120}))
    expect(page.locator("#sale-banner")).to_be_visible()
    # "Tap to unmute" shows while muted video plays; without a publisher here, shown as the
    # player would show it.
    unmute = page.locator(".video-unmute")
    unmute.evaluate("button => { button.hidden = false; }")
    expect(unmute).to_be_visible()
    covered = [page.locator(selector) for selector in (
        "#pinned-card .tile-title", "#pinned-card .tile-price-line", "#room-title",
        "#sale-banner", "#pinned-card .tile-variant", "#pinned-card .buy-button")]
    # Also with the browser's own bars taking part of the screen.
    for viewport in (PHONE, SHORT_PHONE):
        page.set_viewport_size(viewport)
        for text in covered:
            assert not overlaps(box(unmute), box(text)), f"Tap to unmute covers {text}"
        assert not overlaps(box(page.locator("#sale-banner")), box(tile))
    page.set_viewport_size(PHONE)

    select = tile.locator(".tile-variant")
    expect(select).to_be_visible()
    assert _option_text_fits(select) == []
    select.select_option(label="XL / Burgundy")
    expect(select).to_have_value(str(room.jacket["variants"][2]["id"]))
    for part in (".tile-title", ".tile-total", ".buy-button", ".tile-variant"):
        area = box(tile.locator(part))
        assert area["x"] + area["width"] <= PHONE["width"], f"{part} runs off the screen"
    no_horizontal_overflow(page)
    unmute.evaluate("button => { button.hidden = true; }")
    shot(screenshot, page, "buyer-room-phone")


def _order(server: LiveServer, number: str) -> tuple[int, int]:
    with server.db.read() as session:
        row = session.execute(sa.select(Order.total, OrderLine.variant_id)
                              .join(OrderLine, OrderLine.order_id == Order.id)
                              .where(Order.number == number)).one()
    return int(row.total), int(row.variant_id)


def test_a_tap_shows_its_total_with_shipping_first_and_charges_exactly_that(
        live_server: LiveServer, room: Room, new_context: NewContext,
        screenshot: Screenshot) -> None:
    page = browser_of(new_context, live_server, room.viewer, PHONE, "viewer")
    page.goto(f"/shows/{room.show_id}")
    tile = page.locator("#pinned-card .product-tile")
    expect(tile.locator(".tile-price")).to_have_text("£29.99")
    total = tile.locator(".tile-total")
    expect(total).to_be_visible()
    expect(total.locator(".tile-total-amount")).to_have_text(JACKET_TOTAL)
    expect(total).to_contain_text("£3.99 shipping")
    expect(total).to_contain_text(f"{JACKET_VAT} VAT")
    shown = total.locator(".tile-total-amount").inner_text()

    tile.get_by_role("button", name="Buy now").click()
    expect(page.locator("#confirmation")).to_be_visible()
    expect(page.locator("#confirmation-total")).to_have_text(shown)
    number = page.locator("#confirmation-number").inner_text()
    charged, variant_id = _order(live_server, number)
    assert (charged, variant_id) == (JACKET_PRICE + SHIPPING, room.jacket["variants"][0]["id"])
    assert f"£{charged / 100:.2f}" == shown


def test_the_flash_sale_banner_opens_the_sale_variant_ready_to_buy(
        live_server: LiveServer, room: Room, new_context: NewContext,
        screenshot: Screenshot) -> None:
    """The sale is on the scarf's second variant while the jacket is pinned."""
    page = browser_of(new_context, live_server, room.viewer, PHONE, "viewer")
    page.goto(f"/shows/{room.show_id}")
    expect(page.locator("#pinned-card .tile-title")).to_have_text(JACKET)
    on_sale = room.scarf["variants"][1]["id"]
    ok(room.host.http.post(f"/api/v1/shows/{room.show_id}/sales", json={
        "variant_id": on_sale, "prices": {"UK": SALE_PRICE}, "quantity": 5,
        "duration_seconds": 120}))
    banner = page.locator("#sale-banner")
    expect(banner.locator("#sale-price")).to_have_text("£15.00")
    banner.click()

    sheet = page.locator("#sale-sheet")
    expect(sheet).to_be_visible()
    tile = sheet.locator(".product-tile")
    expect(tile.locator(".tile-title")).to_have_text(SCARF)
    expect(tile.locator(".tile-variant")).to_have_value(str(on_sale))
    expect(tile.locator(".tile-price")).to_have_text("£15.00")
    expect(tile.locator(".tile-total-amount")).to_have_text("£18.99")
    shot(screenshot, page, "buyer-sale-sheet-phone")
    tile.get_by_role("button", name="Buy now").click()

    expect(page.locator("#confirmation")).to_be_visible()
    expect(page.locator("#confirmation-total")).to_have_text("£18.99")
    number = page.locator("#confirmation-number").inner_text()
    assert _order(live_server, number) == (SALE_PRICE + SHIPPING, on_sale)


def test_the_debug_panel_needs_debug_1_and_tokens_are_for_sellers(
        live_server: LiveServer, room: Room, new_context: NewContext,
        screenshot: Screenshot) -> None:
    page = browser_of(new_context, live_server, room.viewer, PHONE, "viewer")
    page.goto(f"/shows/{room.show_id}")
    expect(page.locator("#pinned-card .tile-title")).to_have_text(JACKET)
    expect(page.locator(".video-info")).to_have_count(0)
    expect(page.locator(".video-debug")).to_have_count(0)
    slot = page.locator(".video-slot")
    slot.dispatch_event("pointerdown")  # a long press on the picture shows nothing either
    page.wait_for_timeout(900)
    slot.dispatch_event("pointerup")
    expect(page.locator(".video-debug")).to_have_count(0)
    page.goto(f"/shows/{room.show_id}?debug=1")
    expect(page.locator(".video-debug")).to_be_visible()
    page.locator(".video-info").click()
    expect(page.locator(".video-debug")).to_be_hidden()

    for viewport, size in ((PHONE, "phone"), (WIDE, "desktop")):
        page.set_viewport_size(viewport)
        page.goto("/account")
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        expect(page.get_by_text("API token")).to_have_count(0)
        no_horizontal_overflow(page)
        shot(screenshot, page, f"buyer-account-{size}")
    seller = browser_of(new_context, live_server, room.host, PHONE, "seller")
    for viewport, size in ((PHONE, "phone"), (WIDE, "desktop")):
        seller.set_viewport_size(viewport)
        seller.goto("/account")
        developer = seller.locator("#developer")
        expect(developer.get_by_role("heading", name="Developer")).to_be_visible()
        expect(developer.get_by_role("button", name="Create token")).to_be_visible()
        no_horizontal_overflow(seller)
        shot(screenshot, seller, f"seller-account-{size}")


def test_the_room_at_desktop_width(live_server: LiveServer, room: Room,
                                   new_context: NewContext, screenshot: Screenshot) -> None:
    page = browser_of(new_context, live_server, room.viewer, WIDE, "viewer")
    page.goto(f"/shows/{room.show_id}")
    tile = page.locator("#pinned-card .product-tile")
    expect(tile.locator(".tile-total-amount")).to_have_text(JACKET_TOTAL)
    ok(room.host.http.post(f"/api/v1/shows/{room.show_id}/sales", json={
        "variant_id": room.jacket["variants"][1]["id"], "prices": {"UK": SALE_PRICE},
        "quantity": 5, "duration_seconds": 120}))
    expect(page.locator("#sale-banner")).to_be_visible()
    expect(tile.locator(".tile-total-amount")).to_have_text("£18.99")
    no_horizontal_overflow(page)
    shot(screenshot, page, "buyer-room-desktop")
