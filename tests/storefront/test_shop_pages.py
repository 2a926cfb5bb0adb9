"""A shop's advertised address is its page, and the shows have a directory (issue 18,
defect 3 and the buyer's journey): banner, about, products, shows live, upcoming and to
replay, following; /shows lists the shows live now, upcoming and ended."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from liveshop.catalog.orm import Shop
from liveshop.core.db import Database, utcnow
from tests.factories import VariantSpec, create_product, create_shop
from tests.html import csrf_from

HTML = {"Accept": "text/html"}


class ShopSetup:
    def __init__(self, owner: Any, shop_id: int, product_id: int, variant_id: int,
                 shows: dict[str, int]):
        self.owner, self.id, self.product_id = owner, shop_id, product_id
        self.variant_id, self.shows = variant_id, shows


def _schedule(owner: Any, shop_id: int, product_id: int, title: str, hours: float) -> int:
    created = owner.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": title, "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=hours)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture
def thames(db: Database, make_user: Any) -> ShopSetup:
    owner = make_user("seller", name="Olivia Hart")
    shop_id = create_shop(db, owner.id, {"UK": 399, "DE": 499}, name="Thames & Thread")
    with db.transaction() as session:
        session.execute(update(Shop).where(Shop.id == shop_id).values(
            slug="thames-and-thread", description="Knitwear from a London studio."))
    product_id, (variant_id,) = create_product(
        db, shop_id, [VariantSpec({"UK": 4500, "DE": 5200}, option1="M")],
        title="Cable Knit Jumper")
    replay = _schedule(owner, shop_id, product_id, "Last week's drop", 0.1)
    assert owner.post(f"/api/v1/shows/{replay}/live").status_code == 200
    assert owner.post(f"/api/v1/shows/{replay}/end").status_code == 200
    live = _schedule(owner, shop_id, product_id, "Knitwear live", 0.1)
    assert owner.post(f"/api/v1/shows/{live}/live").status_code == 200
    upcoming = _schedule(owner, shop_id, product_id, "Winter preview", 24)
    return ShopSetup(owner, shop_id, product_id, variant_id,
                     {"replay": replay, "live": live, "upcoming": upcoming})


def test_a_shops_advertised_address_is_its_page(thames: ShopSetup, client: Any) -> None:
    page = client.get("/thames-and-thread", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert '<h1 id="shop-name">Thames &amp; Thread</h1>' in html
    assert "Knitwear from a London studio." in html  # about
    assert f'href="/products/{thames.product_id}"' in html and "£45.00" in html
    for section, show in (("shop-live", "live"), ("shop-upcoming", "upcoming"),
                          ("shop-replays", "replay")):
        start = html.index(f'id="{section}"')
        assert f'data-show-id="{thames.shows[show]}"' in html[start:start + 2500], section
    assert "REPLAY" in html and "Streamed" in html
    assert "United Kingdom" in html and "Deutschland" in html  # ships to
    # Anonymous visitors are asked to log in to follow or be reminded.
    assert 'href="/login?next=/thames-and-thread"' in html


def test_following_a_shop_from_its_page(thames: ShopSetup, make_user: Any) -> None:
    fan = make_user("buyer")
    html = fan.get("/thames-and-thread").text
    assert 'id="follow"' in html and 'data-on="0"' in html and "0 followers" in html
    assert f'data-show-id="{thames.shows["upcoming"]}" data-on="0"' in html  # remind me
    assert fan.put(f"/api/v1/shops/{thames.id}/follow").status_code == 200
    html = fan.get("/thames-and-thread").text
    assert 'data-on="1"' in html and "1 follower<" in html and "Following" in html
    assert "Edit shop" in thames.owner.get("/thames-and-thread").text


def test_a_shop_that_does_not_ship_to_the_market_says_where_it_ships(
        thames: ShopSetup, client: Any) -> None:
    token = csrf_from(client.get("/login").text)
    client.post("/market", data={"csrf_token": token, "market": "US", "next": "/"})
    html = client.get("/thames-and-thread").text
    assert "does not ship to United States" in html
    assert f'href="/products/{thames.product_id}"' not in html


@pytest.mark.parametrize("path", ["/no-such-shop", "/cart-", "/Thames-And-Thread", "/a..b",
                                  "/" + "x" * 101])
def test_other_addresses_are_not_shops(client: Any, thames: ShopSetup, path: str) -> None:
    assert client.get(path, headers=HTML).status_code == 404


def test_the_sites_own_paths_win_over_shops(db: Database, make_user: Any, client: Any) -> None:
    owner = make_user("seller")
    shop_id = create_shop(db, owner.id, name="Shows")
    with db.transaction() as session:
        # As if a shop had taken the slug before slugs were reserved.
        session.execute(update(Shop).where(Shop.id == shop_id).values(slug="shows"))
    page = client.get("/shows", headers=HTML)
    assert page.status_code == 200 and '<h1>Shows</h1>' in page.text
    assert client.get("/cart", headers=HTML, follow_redirects=False).status_code == 303


def test_the_shows_directory_lists_live_upcoming_and_replays(
        thames: ShopSetup, make_user: Any) -> None:
    viewer = make_user("buyer")
    html = viewer.get("/shows", headers=HTML).text
    positions = [html.index(f'data-show-id="{thames.shows[name]}"')
                 for name in ("live", "upcoming", "replay")]
    assert positions == sorted(positions)
    assert html.index('id="live-now"') < positions[0] < html.index('id="upcoming"')
    assert html.index('id="upcoming"') < positions[1] < html.index('id="replays"')
    assert "Remind me" in html and "/static/js/remind.js" in html
    assert 'href="/shows" class="nav-link"' in html


def test_the_header_counts_the_units_in_the_cart(thames: ShopSetup, make_user: Any) -> None:
    buyer = make_user("buyer")
    assert 'class="cart-badge"' not in buyer.get("/").text
    added = buyer.post("/api/v1/cart/items", json={"variant_id": thames.variant_id,
                                                   "quantity": 3})
    assert added.status_code in (200, 201), added.text
    assert '<span class="cart-badge">3</span>' in buyer.get("/thames-and-thread").text
