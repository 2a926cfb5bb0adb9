"""The demo starts with something on every page a buyer or a seller opens first: shows
upcoming and to replay on the shop pages and /shows, and orders in each state."""

from __future__ import annotations

from typing import Any

from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.demo.catalog import DEMO_PASSWORD
from liveshop.demo.seed import seed_demo

HTML = {"Accept": "text/html"}


def log_in(client: Any, email: str) -> Any:
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"csrf_token": token, "email": email,
                                "password": DEMO_PASSWORD})
    return client


def test_the_demo_shop_page_has_shows_to_come_and_to_replay(
        db: Database, settings: Settings, client: Any) -> None:
    seed_demo(db, settings)
    page = client.get("/thames-and-thread", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert "Winter knits preview" in html and "Remind me" in html
    assert "Autumn layers live" in html and "REPLAY" in html
    shows = client.get("/shows", headers=HTML).text
    assert "Winter knits preview" in shows and "Tee restock party" in shows


def test_the_demo_buyer_has_orders_in_every_state(db: Database, settings: Settings,
                                                 client: Any) -> None:
    seed_demo(db, settings)
    ben = log_in(client, "ben@example.com")
    orders = ben.get("/api/v1/orders").json()
    assert {order["status"] for order in orders} == {"paid", "shipped", "delivered",
                                                     "refunded"}
    refunded = next(order["id"] for order in orders if order["status"] == "refunded")
    page = ben.get(f"/orders/{refunded}", headers=HTML).text
    assert "went back to your card" in page and "London N1 8ED" in page


def test_the_demo_seller_home_has_something_to_do(db: Database, settings: Settings,
                                                  client: Any) -> None:
    seed_demo(db, settings)
    olivia = log_in(client, "olivia@example.com")
    page = olivia.get("/seller", headers=HTML)
    assert page.status_code == 200
    html = page.text
    for tile in ("to-ship", "returns", "low-stock"):
        count = html.split(f'id="{tile}"')[1].split('<span class="count')[1]
        assert count.startswith(' due">'), f"nothing in {tile}"
    assert "The jumper is a size too small." in html
    next_show = html.split('id="next-show"')[1].split("</section>")[0]
    assert "Winter knits preview" in next_show and ">Go live</a>" in next_show
    sales = html.split('id="sales-today"')[1].split("</section>")[0]
    assert 'data-currency="GBP"' in sales and 'data-currency="EUR"' in sales


def test_the_demo_creator_can_schedule_for_the_shop_that_invited_her(
        db: Database, settings: Settings, client: Any) -> None:
    seed_demo(db, settings)
    nina = log_in(client, "nina@example.com")
    shows = nina.get("/seller/shows", headers=HTML).text
    assert 'href="/seller/shows/new"' in shows
    form = nina.get("/seller/shows/new", headers=HTML).text
    assert "Thames &amp; Thread" in form and 'name="product_ids"' in form
