"""The home page runs the same few SELECTs however many product cards and shows it lists
(bench/pages.py measures what they cost under load)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from liveshop.catalog.orm import ProductImage
from liveshop.core.db import Database, utcnow
from tests.factories import VariantSpec, create_product, create_shop
from tests.queries import selects

# Products: count, cards, their prices and stock, their first images. Shows: live ones and
# their lineups, upcoming ones and their lineups, shop names, host names, lineup pictures.
HOME_SELECTS = 4 + 7


def add_products(db: Database, shop_id: int, count: int) -> list[int]:
    """Products with two sizes and two pictures each."""
    product_ids = []
    for _ in range(count):
        product_id, _ = create_product(db, shop_id, [
            VariantSpec(prices={"UK": 1500}, option1="M"),
            VariantSpec(prices={"UK": 1700}, option1="L", stock=0)])
        with db.transaction() as session:
            session.add_all(ProductImage(product_id=product_id, position=position,
                                         path=f"products/{product_id}/{uuid.uuid4().hex}.webp",
                                         content_type="image/webp", width=10, height=10)
                            for position in range(2))
        product_ids.append(product_id)
    return product_ids


def add_shows(host: Any, shop_id: int, lineup: list[int]) -> None:
    """One live show and one upcoming show, both with the lineup."""
    for starts_in in (timedelta(0), timedelta(days=1)):
        created = host.post("/api/v1/shows", json={
            "shop_id": shop_id, "title": "Drop", "markets": ["UK"],
            "scheduled_at": (utcnow() + starts_in).isoformat(), "product_ids": lineup})
        assert created.status_code == 201, created.text
        if not starts_in:
            assert host.post(f"/api/v1/shows/{created.json()['id']}/live").status_code == 200


def test_the_catalogue_runs_the_same_selects_for_few_or_many_cards_and_shows(
    app: Any, db: Database, make_user: Any
) -> None:
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, {"UK": 399})
    # No lifespan: background sweeps would add their own SELECTs to the count.
    visitor = TestClient(app, headers={"Accept-Language": "en-GB"})

    products = add_products(db, shop_id, 2)
    add_shows(seller, shop_id, products)
    with selects(db) as few:
        page = visitor.get("/products")
    assert all(f'href="/products/{id_}"' in page.text for id_ in products)

    products += add_products(db, shop_id, 6)
    add_shows(seller, shop_id, products[2:])
    add_shows(seller, shop_id, [])
    with selects(db) as many:
        page = visitor.get("/products")
    assert all(f'href="/products/{id_}"' in page.text for id_ in products)
    assert page.text.count('href="/shows/') >= 6
    assert len(few) == len(many) == HOME_SELECTS, "\n\n".join(many)
