"""The feed in a browser, at phone and desktop width: For-you cards with their "why", a
live badge whose viewer count follows the room, infinite scroll, remind-me and follow
buttons, "not interested" removing the card, and the beacons that record what was seen.
Screenshots under tests/e2e/artifacts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import func, select

from liveshop.feed.orm import FeedEvent
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewContext, Screenshot
from tests.e2e.scene import Account, ok, sign_up
from tests.e2e.test_buyer_on_a_phone import browser_of, no_horizontal_overflow, shot
from tests.factories import VariantSpec, create_product

pytestmark = pytest.mark.e2e


def shop_of(server: LiveServer, seller: Account, name: str) -> int:
    shop = ok(seller.http.post("/api/v1/shops", json={
        "name": name, "description": "", "markets": [{"market": "UK", "shipping": 399}]}))
    return int(shop["id"])


def a_feed_to_scroll(server: LiveServer) -> tuple[Account, int, int]:
    """Three shops with eight products each, a live show and an upcoming one by a creator."""
    host = sign_up(server, "seller", "Nina Live")
    host_shop = shop_of(server, host, "Nina's Studio")
    for number in range(3):
        seller = host if number == 0 else sign_up(server, "seller", f"Seller {number}")
        shop = host_shop if number == 0 else shop_of(server, seller, f"Feed Shop {number}")
        for n in range(8):
            create_product(server.db, shop, [VariantSpec({"UK": 1200 + n * 100}, 5)],
                           title=f"Feed thing {number}-{n}")
    lineup, _ = create_product(server.db, host_shop, [VariantSpec({"UK": 4500}, 5)],
                               title="Glow Jacket")
    starts = datetime.now(UTC) + timedelta(minutes=5)
    live = ok(host.http.post("/api/v1/shows", json={
        "shop_id": host_shop, "title": "Friday drop", "markets": ["UK"],
        "scheduled_at": starts.isoformat(), "product_ids": [lineup]}))["id"]
    ok(host.http.post(f"/api/v1/shows/{live}/live"))
    upcoming = ok(host.http.post("/api/v1/shows", json={
        "shop_id": host_shop, "title": "Sunday restock", "markets": ["UK"],
        "scheduled_at": (starts + timedelta(days=1)).isoformat(), "product_ids": [lineup]}))
    return host, int(live), int(upcoming["id"])


def events_of(server: LiveServer, user_id: int, kind: str) -> int:
    with server.db.read() as session:
        return session.scalar(select(func.count()).select_from(FeedEvent).where(
            FeedEvent.user_id == user_id, FeedEvent.kind == kind)) or 0


def scroll_to_the_end(page: Page) -> None:
    page.mouse.wheel(0, 20_000)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")


@pytest.mark.parametrize(("viewport", "width"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_feed_scrolls_explains_and_listens(
        live_server: LiveServer, new_context: NewContext, screenshot: Screenshot,
        viewport: ViewportSize, width: str) -> None:
    host, live_id, upcoming_id = a_feed_to_scroll(live_server)
    buyer = sign_up(live_server, "buyer", "Fay Feed")
    page = browser_of(new_context, live_server, buyer, viewport, "buyer")
    page.goto("/")
    cards = page.locator("#feed .feed-card")
    expect(cards.first).to_be_visible()
    live_card = page.locator(f'.feed-card[data-key="show:{live_id}"]')
    expect(live_card.locator(".live-badge")).to_contain_text("LIVE")
    expect(live_card.locator(".viewer-count")).to_have_text("0")
    expect(page.locator(".feed-why").first).not_to_be_empty()
    no_horizontal_overflow(page) if width == "phone" else None
    shot(screenshot, page, f"feed-for-you-{width}")

    # Someone opens the live room: the badge's count follows within its refresh.
    watcher = new_context(viewport=PHONE, label="watcher").new_page()
    watcher.goto(f"/shows/{live_id}")
    expect(live_card.locator(".viewer-count")).to_have_text("1", timeout=25_000)

    # Follow the host from the live card, set a reminder for the upcoming show.
    live_card.get_by_role("button", name="Follow").click()
    expect(live_card.get_by_role("button", name="Following")).to_be_visible()
    assert cards.count() >= 10  # a page; a tall screen asks for the next at once
    for _ in range(10):  # scroll until the last page came
        if not page.locator(".feed-more").count():
            break
        scroll_to_the_end(page)
        page.wait_for_timeout(400)
    expect(page.locator(".feed-more")).to_have_count(0)
    upcoming = page.locator(f'.feed-card[data-key="show:{upcoming_id}"]')
    upcoming.scroll_into_view_if_needed()
    upcoming.get_by_role("button", name="Remind me").click()
    expect(upcoming.get_by_role("button", name="Reminder set")).to_be_visible()
    keys = page.locator("#feed .feed-card").evaluate_all("cards => cards.map(c => c.dataset.key)")
    assert len(keys) == len(set(keys)) > 10

    # "Not interested" takes the card away, and it stays away.
    victim = cards.nth(1)
    gone = victim.get_attribute("data-key")
    victim.get_by_role("button", name="Not interested").click()
    expect(page.locator(f'.feed-card[data-key="{gone}"]')).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    shot(screenshot, page, f"feed-after-scroll-{width}")

    # Leaving the page sends what was seen (a beacon on pagehide): at least the first
    # screen's cards and those the scrolling stopped at.
    page.goto("/following")
    deadline = time.monotonic() + 10
    while events_of(live_server, buyer.id, "impression") < 3:
        assert time.monotonic() < deadline, "no impressions recorded"
        time.sleep(0.2)
    expect(page.locator(".feed-card").first).to_have_attribute("data-key", f"show:{live_id}")
    shot(screenshot, page, f"feed-following-{width}")
    page.goto("/")
    expect(page.locator(f'.feed-card[data-key="{gone}"]')).to_have_count(0)
    del host
