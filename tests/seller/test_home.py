"""The seller home answers "what do I do now": orders to ship, returns to decide, low stock,
the next show with its go-live button and today's sales per currency, across every shop the
seller owns, in a fixed number of queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from liveshop.accounts.model import Actor, Role
from liveshop.core.db import Database, utcnow
from liveshop.orders import service as orders
from liveshop.orders.orm import Order
from liveshop.orders.schemas import ReturnIn
from liveshop.seller.model import CurrencySales, sales_by_currency, start_of_day
from liveshop.services import app_services
from tests.factories import VariantSpec, create_product, create_shop
from tests.orders.conftest import build_order
from tests.queries import selects

HTML = {"Accept": "text/html"}
# The page: the session and its user, the cart badge, the unread alerts. The home: shops
# and their markets; orders to ship (count, list, lines, pictures: variants and images);
# returns (count, list); low stock (count, list); shows (list, lineups, shop names, host
# names, pictures); sales.
HOME_SELECTS = 3 + 2 + 5 + 2 + 2 + 5 + 1


def section(page: str, section_id: str) -> str:
    match = re.search(rf'<section class="card home-tile" id="{section_id}".*?</section>', page,
                      re.S)
    assert match, f"no {section_id} section"
    return match.group(0)


def count_in(tile: str) -> int:
    match = re.search(r'<span class="count[^"]*">(\d+)</span>', tile)
    assert match
    return int(match.group(1))


def schedule(seller: Any, shop_id: int, title: str, hours: float, market: str = "UK") -> int:
    created = seller.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": title, "markets": [market],
        "scheduled_at": (utcnow() + timedelta(hours=hours)).isoformat(), "product_ids": []})
    assert created.status_code == 201, created.text
    show_id: int = created.json()["id"]
    return show_id


class Stage:
    """A seller with two shops (UK/DE and US), a buyer, and the app's payment provider."""

    def __init__(self, app: Any, db: Database, make_user: Any) -> None:
        self.db, self.payments = db, app_services(app).context.payments
        self.seller, self.buyer = make_user("seller"), make_user("buyer")
        self.europe = create_shop(db, self.seller.id, {"UK": 399, "DE": 499}, name="Knits")
        self.america = create_shop(db, self.seller.id, {"US": 599}, name="Roasts")
        _, (self.plenty, self.two_left) = create_product(db, self.europe, [
            VariantSpec(prices={"UK": 2000, "DE": 2500}, stock=30, option1="M"),
            VariantSpec(prices={"UK": 2000, "DE": 2500}, stock=2, option1="L")],
            title="Cable Jumper")
        _, (self.beans,) = create_product(db, self.america, [
            VariantSpec(prices={"US": 1600}, stock=0, option1="1kg")], title="House Beans")

    def order(self, shop_id: int, variant_id: int, market: str, status: str = "paid") -> int:
        return build_order(self.db, self.payments, buyer_id=self.buyer.id, shop_id=shop_id,
                           items=[(variant_id, 1)], market=market, status=status)


def test_the_seller_home_lists_what_waits_across_shops(app: Any, db: Database,
                                                       make_user: Any) -> None:
    stage = Stage(app, db, make_user)
    uk = stage.order(stage.europe, stage.plenty, "UK")  # 20.00 + 3.99
    de = stage.order(stage.europe, stage.plenty, "DE")  # 25.00 + 4.99
    stage.order(stage.europe, stage.plenty, "UK", status="shipped")
    returned = stage.order(stage.europe, stage.plenty, "UK", status="delivered")
    orders.request_return(db, Actor(stage.buyer.id, Role.BUYER), returned,
                          ReturnIn(reason="Too small"))
    yesterday = stage.order(stage.europe, stage.plenty, "UK", status="shipped")
    with db.transaction() as session:
        session.execute(update(Order).where(Order.id == yesterday).values(
            paid_at=utcnow() - timedelta(days=1, hours=1)))
    refunded = stage.order(stage.europe, stage.plenty, "UK", status="shipped")
    with db.transaction() as session:  # refunded in full: no sale, neither sum nor count
        session.execute(update(Order).where(Order.id == refunded).values(
            refunded_amount=Order.total))
    later = schedule(stage.seller, stage.europe, "Knit night", 48)
    soon = schedule(stage.seller, stage.america, "Cupping live", 5, "US")

    page = stage.seller.get("/seller", headers=HTML)
    assert page.status_code == 200, page.text

    to_ship = section(page.text, "to-ship")
    assert count_in(to_ship) == 2
    assert f'href="/seller/orders/{uk}"' in to_ship and f'href="/seller/orders/{de}"' in to_ship

    returns = section(page.text, "returns")
    assert count_in(returns) == 1 and f'href="/seller/orders/{returned}#returns"' in returns
    assert "Too small" in returns

    low = section(page.text, "low-stock")
    assert count_in(low) == 2
    assert "Cable Jumper · L" in low and "2 left" in low
    assert "House Beans · 1kg" in low and "sold out" in low
    assert "Cable Jumper · M" not in low

    # The soonest show of any of the seller's shops, with a button that goes live.
    next_show = section(page.text, "next-show")
    assert "Cupping live" in next_show
    assert f'href="/shows/{soon}/control#go-live">Go live</a>' in next_show
    assert f'href="/shows/{later}"' in next_show

    # Paid today, per currency, never added: 3 orders in GBP (one shipped, one delivered)
    # and one in EUR; yesterday's order and the one refunded in full are not today's sales.
    sales = section(page.text, "sales-today")
    gbp = re.search(r'data-currency="GBP"><strong[^>]*>([^<]+)</strong> <span[^>]*>(\d+) orders?',
                    sales)
    eur = re.search(r'data-currency="EUR"><strong[^>]*>([^<]+)</strong> <span[^>]*>(\d+) orders?',
                    sales)
    assert gbp and eur, sales
    assert (gbp.group(1), gbp.group(2)) == ("£71.97", "3")
    assert (eur.group(1), eur.group(2)) == ("€29.99", "1")
    assert "USD" not in sales


def test_a_seller_without_shops_is_shown_how_to_open_one(make_user: Any) -> None:
    seller = make_user("seller")
    page = seller.get("/seller", headers=HTML)
    assert page.status_code == 200
    assert 'action="/seller/shops"' in page.text and "Open a shop" in page.text
    assert 'id="to-ship"' not in page.text


def test_the_home_runs_the_same_selects_for_one_shop_or_several(
        app: Any, db: Database, make_user: Any) -> None:
    stage = Stage(app, db, make_user)
    stage.order(stage.europe, stage.plenty, "UK")
    schedule(stage.seller, stage.europe, "One", 3)
    # The seller's client runs no lifespan, so no background sweep adds to the count.
    with selects(db) as few:
        assert stage.seller.get("/seller", headers=HTML).status_code == 200

    for _ in range(3):
        create_shop(db, stage.seller.id, {"UK": 100})
    for market in ("UK", "DE", "UK"):
        stage.order(stage.europe, stage.plenty, market)
    returned = stage.order(stage.europe, stage.plenty, "UK", status="delivered")
    orders.request_return(db, Actor(stage.buyer.id, Role.BUYER), returned,
                          ReturnIn(reason="Wrong colour"))
    schedule(stage.seller, stage.america, "Two", 4, "US")
    with selects(db) as many:
        page = stage.seller.get("/seller", headers=HTML)
    assert page.status_code == 200 and count_in(section(page.text, "to-ship")) == 4
    assert len(few) == len(many) == HOME_SELECTS, "\n\n".join(many)


def test_sales_are_kept_per_currency_and_today_starts_at_midnight_utc() -> None:
    assert sales_by_currency({"USD": (1, 500), "EUR": (2, 300)}) == [
        CurrencySales("EUR", 2, 300), CurrencySales("USD", 1, 500)]
    late = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    assert start_of_day(late) == datetime(2026, 12, 3, tzinfo=UTC)
