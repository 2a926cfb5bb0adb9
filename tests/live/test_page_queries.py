"""The live-room page runs the same few SELECTs however long the show's lineup is
(bench/pages.py measures what they cost under load)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from liveshop.core.db import Database, utcnow
from tests.catalog.test_page_queries import add_products
from tests.factories import create_shop
from tests.queries import selects

# The show and its lineup, shop name, host name, cover picture; then the lineup's cards:
# titles, priced variants with stock, first images; then the shop's shipping (the room
# shows what a tap charges).
ROOM_SELECTS = 5 + 3 + 1


def test_the_room_page_runs_the_same_selects_for_a_short_or_long_lineup(
    app: Any, db: Database, make_user: Any
) -> None:
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, {"UK": 399})
    # No lifespan: background sweeps would add their own SELECTs to the count.
    visitor = TestClient(app, headers={"Accept-Language": "en-GB"})
    counts = []
    for lineup in (add_products(db, shop_id, 1), add_products(db, shop_id, 8)):
        created = seller.post("/api/v1/shows", json={
            "shop_id": shop_id, "title": "Drop", "markets": ["UK"],
            "scheduled_at": utcnow().isoformat(), "product_ids": lineup})
        show_id = created.json()["id"]
        assert seller.post(f"/api/v1/shows/{show_id}/live").status_code == 200
        with selects(db) as seen:
            page = visitor.get(f"/shows/{show_id}")
        assert page.status_code == 200
        assert f'<span id="bag-count">{len(lineup)}</span>' in page.text
        counts.append(len(seen))
    assert counts == [ROOM_SELECTS, ROOM_SELECTS], "\n\n".join(seen)
