"""Issue 18, defect 7, in a browser: a viewer buys in a live room, the seller ships, and on
a phone the menu's link reads "Alerts, 2 unread"; the centre lists both notices, fits the
screen and opens the order. Screenshots under tests/e2e/artifacts."""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, LiveServer, NewContext, Screenshot
from tests.e2e.scene import ok
from tests.e2e.test_buyer_on_a_phone import (
    Room,
    browser_of,
    no_horizontal_overflow,
    room,
    shot,
)

__all__ = ["room"]
pytestmark = pytest.mark.e2e


def test_a_buyer_on_a_phone_sees_unread_alerts_and_opens_the_order(
        live_server: LiveServer, room: Room, new_context: NewContext,
        screenshot: Screenshot) -> None:
    bought = ok(room.viewer.http.post(
        f"/api/v1/shows/{room.show_id}/buy",
        json={"variant_id": room.jacket["variants"][0]["id"], "quantity": 1},
        headers={"Idempotency-Key": uuid.uuid4().hex}))
    assert bought["status"] == "paid"
    [order] = ok(room.viewer.http.get("/api/v1/orders"))
    order_id = order["id"]
    ok(room.host.http.post(f"/api/v1/orders/{order_id}/ship",
                           json={"carrier": "Royal Mail", "tracking_number": "RM1GB"}))
    deadline = time.monotonic() + 20  # the server's outbox relay posts them after the commit
    while len(ok(room.viewer.http.get("/api/v1/notifications"))) < 2:
        assert time.monotonic() < deadline, "no notices after 20 s"
        time.sleep(0.2)

    page = browser_of(new_context, live_server, room.viewer, PHONE, "buyer")
    page.goto("/")
    page.get_by_role("button", name="Menu", exact=True).click()
    alerts = page.get_by_role("link", name="Alerts, 2 unread", exact=True)
    expect(alerts).to_be_visible()
    shot(screenshot, page, "alerts-unread-phone")
    alerts.click()
    page.wait_for_url("**/notifications")
    expect(page.locator(".notifications li.unread")).to_have_count(2)
    no_horizontal_overflow(page)
    shot(screenshot, page, "notification-centre-phone")
    page.get_by_role("link", name="has shipped with Royal Mail").click()
    page.wait_for_url(f"**/orders/{order_id}")
    page.get_by_role("button", name="Menu", exact=True).click()
    expect(page.get_by_role("link", name="Alerts", exact=True)).to_be_visible()
