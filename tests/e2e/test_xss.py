"""Stored XSS: script payloads typed into every user-controlled name and text are shown
literally, on every page that displays them, and never run.

The payloads go in over the JSON API of the running server as product title and
description, shop name, show title, the display names of a seller and of a chatting buyer,
and a chat message. Each page is then opened in Chromium: no dialog may open,
``window.__xss`` must stay undefined and the payload must be visible as text. A CSP
violation (an injected inline script the policy had to block) shows up as a console error,
which fails the test too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from liveshop.app import SESSION_COOKIE
from tests.e2e.conftest import DESKTOP, LiveServer, NewContext

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"
PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload=window.__xss=1>',
]
ADDRESS = {"full_name": "Ann Buyer", "line1": "1 High Street", "line2": "", "city": "London",
           "postcode": "N1 1AA", "country": "GB"}
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


@dataclass
class Account:
    http: httpx.Client
    id: int


def ok(response: httpx.Response) -> Any:
    assert response.is_success, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json() if response.content else None


def sign_up(server: LiveServer, role: str, name: str) -> Account:
    http = server.http()
    created = ok(http.post("/api/v1/auth/signup", json={
        "email": f"xss-{role}-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
        "display_name": name, "role": role}))
    http.headers["X-CSRF-Token"] = created["csrf_token"]
    return Account(http, created["user"]["id"])


@dataclass
class Stage:
    payload: str
    seller: Account
    buyer: Account
    shop_id: int
    product_id: int
    show_id: int
    order_id: int


@pytest.fixture(params=PAYLOADS, ids=["script", "img-onerror", "svg-onload"])
def stage(request: pytest.FixtureRequest, live_server: LiveServer) -> Iterator[Stage]:
    payload: str = request.param
    seller = sign_up(live_server, "seller", payload)
    buyer = sign_up(live_server, "buyer", payload)
    shop = ok(seller.http.post("/api/v1/shops", json={
        "name": payload, "description": payload,
        "markets": [{"market": "UK", "shipping": 399}]}))
    product = ok(seller.http.post(f"/api/v1/shops/{shop['id']}/products", json={
        "title": payload, "description": payload, "status": "active", "options": ["Size"],
        "variants": [{"sku": f"XSS-{uuid.uuid4().hex[:6]}", "options": ["M"],
                      "prices": {"UK": {"amount": 1500}}}]}))
    ok(seller.http.post(f"/api/v1/variants/{product['variants'][0]['id']}/stock/receipts",
                        json={"quantity": 20}))
    show = ok(seller.http.post("/api/v1/shows", json={
        "shop_id": shop["id"], "title": payload, "description": payload, "markets": ["UK"],
        "product_ids": [product["id"]],
        "scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}))
    ok(seller.http.post(f"/api/v1/shows/{show['id']}/live"))
    ok(seller.http.put(f"/api/v1/shows/{show['id']}/pin", json={"product_id": product["id"]}))
    ok(buyer.http.post("/api/v1/me/addresses", json=ADDRESS))
    ok(buyer.http.post("/api/v1/payment-methods", json={"card": CARD, "make_default": True}))
    variant = {"variant_id": product["variants"][0]["id"]}
    bought = ok(buyer.http.post(f"/api/v1/shows/{show['id']}/buy", json=variant,
                                headers={"Idempotency-Key": uuid.uuid4().hex}))
    order_id = ok(buyer.http.get(f"/api/v1/orders?checkout_id={bought['checkout_id']}"))[0]["id"]
    ok(buyer.http.post("/api/v1/cart/items", json=variant))
    ok(buyer.http.post(f"/api/v1/shows/{show['id']}/chat", json={"text": payload}))
    yield Stage(payload, seller, buyer, shop["id"], product["id"], show["id"], order_id)
    seller.http.close()
    buyer.http.close()


def logged_in_page(new_context: NewContext, server: LiveServer, account: Account,
                   label: str, dialogs: list[str]) -> Page:
    context = new_context(viewport=DESKTOP, label=label)
    context.add_cookies([{"name": SESSION_COOKIE, "value": account.http.cookies[SESSION_COOKIE],
                          "url": server.url}])
    page = context.new_page()

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(f"{page.url}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


def assert_inert(page: Page, path: str, payload: str, dialogs: list[str]) -> None:
    page.goto(path)
    # Live pages add chat and cards from scripts, so wait for the text rather than load.
    expect(page.get_by_text(payload).first).to_be_visible()
    assert page.evaluate("typeof window.__xss") == "undefined", f"payload ran on {path}"
    assert page.locator("img[src='x'], svg[onload]").count() == 0, f"markup injected on {path}"
    assert not dialogs, dialogs


def test_payloads_show_as_text_and_never_run(stage: Stage, live_server: LiveServer,
                                             new_context: NewContext) -> None:
    dialogs: list[str] = []
    buyer = logged_in_page(new_context, live_server, stage.buyer, "buyer", dialogs)
    for path in ["/", f"/products/{stage.product_id}", "/cart",
                 "/checkout", "/orders", f"/orders/{stage.order_id}",
                 "/account", f"/shows/{stage.show_id}"]:
        assert_inert(buyer, path, stage.payload, dialogs)
    # The room (opened last) shows the chatting buyer's message among the others.
    room = buyer.locator("#chat-list .chat-message").filter(has_text=stage.payload)
    expect(room.first).to_be_visible()
    # Reflected: the search box echoes the query back.
    buyer.goto("/?" + urlencode({"q": stage.payload}))
    assert buyer.evaluate("typeof window.__xss") == "undefined"
    assert buyer.locator("img[src='x'], svg[onload]").count() == 0
    seller = logged_in_page(new_context, live_server, stage.seller, "seller", dialogs)
    for path in ["/seller", f"/seller/shops/{stage.shop_id}",
                 f"/seller/shops/{stage.shop_id}/products", f"/seller/products/{stage.product_id}",
                 f"/seller/shops/{stage.shop_id}/stock", f"/seller/shops/{stage.shop_id}/orders",
                 f"/seller/orders/{stage.order_id}", "/seller/shows",
                 f"/shows/{stage.show_id}/control"]:
        assert_inert(seller, path, stage.payload, dialogs)
    assert not dialogs, dialogs
