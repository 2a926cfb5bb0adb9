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
