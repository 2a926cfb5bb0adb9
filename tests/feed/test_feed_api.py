"""GET /api/v1/feed: cold start, cursors stable while items arrive, "not interested",
item-to-item from trained neighbours, and training itself (with a stand-in learner)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from liveshop.core.db import Database
from liveshop.feed import model, training
from liveshop.feed.ingest import Interaction
from liveshop.feed.model import EventKind, ItemType
from liveshop.feed.orm import FeedTraining, ItemNeighbour
from tests.factories import VariantSpec, create_product, create_shop
from tests.feed.conftest import writer_of


def catalogue(db: Database, make_user: Any, shops: int, per_shop: int) -> list[int]:
    ids = []
    for s in range(shops):
        seller = make_user("seller", name=f"Seller {s}")
        shop = create_shop(db, seller.id, name=f"Shop {s}")
        for n in range(per_shop):
            product, _ = create_product(db, shop, [VariantSpec({"UK": 1000, "DE": 1200}, 5)],
                                        title=f"Thing {s}-{n}")
            ids.append(product)
    return ids


def clicks(app: Any, counts: dict[int, int], market: str = "UK") -> None:
    writer = writer_of(app)
    for product_id, count in counts.items():
        writer.put_many(Interaction(EventKind.CLICK, ItemType.PRODUCT, product_id,
                                    user_id=10_000 + n, market=market) for n in range(count))
    writer.flush()


def test_cold_start_serves_the_markets_popular_items_with_why(
        app: Any, db: Database, client: TestClient, make_user: Any) -> None:
    ids = catalogue(db, make_user, shops=2, per_shop=2)
    clicks(app, {ids[0]: 5, ids[2]: 3})
    clicks(app, {ids[3]: 50}, market="DE")  # popular elsewhere only
    page = client.get("/api/v1/feed").json()
    keys = [c["key"] for c in page["items"]]
    assert keys[:2] == [f"product:{ids[0]}", f"product:{ids[2]}"]
    assert page["items"][0]["why"] == "Popular in United Kingdom"
    # Then what is new, so that a site nobody used yet has a feed.
    assert sorted(keys[2:]) == sorted(f"product:{i}" for i in (ids[1], ids[3]))
    assert page["items"][2]["why"].startswith("New from Shop ")
    assert page["next_cursor"] is None
    assert client.get("/api/v1/feed", params={"tab": "following"}).json()["items"] == []


def test_pages_follow_the_cursor_and_stay_stable_while_items_arrive(
        app: Any, db: Database, client: TestClient, make_user: Any) -> None:
    ids = catalogue(db, make_user, shops=12, per_shop=2)
    clicks(app, {product_id: 1 + n for n, product_id in enumerate(ids)})
    first = client.get("/api/v1/feed").json()
    assert len(first["items"]) == 10 and first["next_cursor"]
    # Meanwhile a new product becomes the most popular of all.
    [newcomer] = catalogue(db, make_user, shops=1, per_shop=1)
    clicks(app, {newcomer: 500})
    app.state.services.feed._popular.clear()
    seen = [c["key"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/api/v1/feed", params={"cursor": cursor}).json()
        seen += [c["key"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == len(ids)
    assert f"product:{newcomer}" not in seen
    # A page ranked in another process (nothing kept) leaves the newcomer out as well.
    app.state.services.feed._rankings.clear()
    again = client.get("/api/v1/feed", params={"cursor": first["next_cursor"]}).json()
    assert f"product:{newcomer}" not in [c["key"] for c in again["items"]]
    fresh = client.get("/api/v1/feed").json()
    assert fresh["items"][0]["key"] == f"product:{newcomer}"


def test_a_bad_cursor_is_refused_naming_it(client: TestClient) -> None:
    refused = client.get("/api/v1/feed", params={"cursor": "nonsense"})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "cursor"


def test_not_interested_removes_the_card_for_good(
        app: Any, db: Database, make_user: Any) -> None:
    ids = catalogue(db, make_user, shops=3, per_shop=1)
    clicks(app, {ids[0]: 9, ids[1]: 5, ids[2]: 1})
    buyer = make_user("buyer")
    assert buyer.get("/api/v1/feed").json()["items"][0]["key"] == f"product:{ids[0]}"
    hidden = buyer.put(f"/api/v1/feed/not-interested/product/{ids[0]}")
    assert hidden.status_code == 204
    assert buyer.put(f"/api/v1/feed/not-interested/product/{ids[0]}").status_code == 204
    keys = [c["key"] for c in buyer.get("/api/v1/feed").json()["items"]]
    assert f"product:{ids[0]}" not in keys and keys[0] == f"product:{ids[1]}"
    missing = buyer.put("/api/v1/feed/not-interested/show/999999")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "item_id"
    assert buyer.put("/api/v1/feed/not-interested/shop/1").status_code == 422


def test_items_like_what_the_viewer_did_come_from_the_trained_neighbours(
        app: Any, db: Database, make_user: Any) -> None:
    ids = catalogue(db, make_user, shops=4, per_shop=1)
    clicks(app, {ids[0]: 20, ids[1]: 10})  # popular, but not like what the buyer watched
    buyer = make_user("buyer")
    assert buyer.post("/api/v1/events", json={"events": [
        {"type": "click", "item_type": "product", "item_id": ids[2]}]}).status_code == 202
    writer_of(app).flush()
    with db.transaction() as session:
        session.add(ItemNeighbour(item_code=model.item_code(ItemType.PRODUCT, ids[2]),
                                  neighbour_code=model.item_code(ItemType.PRODUCT, ids[3]),
                                  score=0.9))
    page = buyer.get("/api/v1/feed").json()
    first = page["items"][0]
    assert first["key"] == f"product:{ids[3]}"
    assert first["why"] == "Because you watched Thing 2-0"


@dataclass(frozen=True)
class StandInInteractions:
    user_ids: np.ndarray
    item_ids: np.ndarray
    weights: np.ndarray


class StandInNeighbours:
    """Items that the same people touched, scored by how many: the interface of
    liveshop/feed/recommender.py's ItemNeighbours, enough to train through."""

    def __init__(self, pairs: dict[tuple[int, int], float]) -> None:
        self.pairs = pairs

    def to_rows(self) -> Iterator[tuple[int, int, float]]:
        for (item, other), score in sorted(self.pairs.items()):
            yield item, other, score


class StandInLearner:
    Interactions = StandInInteractions

    @staticmethod
    def train(interactions: StandInInteractions, *, method: str = "ease",
              **params: Any) -> StandInNeighbours:
        by_user: dict[int, set[int]] = {}
        for user, item in zip(interactions.user_ids.tolist(), interactions.item_ids.tolist(),
                              strict=True):
            by_user.setdefault(user, set()).add(item)
        pairs: dict[tuple[int, int], float] = {}
        for items in by_user.values():
            for a in items:
                for b in items - {a}:
                    pairs[a, b] = pairs.get((a, b), 0.0) + 1.0
        return StandInNeighbours(pairs)


def test_training_turns_events_into_neighbour_rows(app: Any, db: Database,
                                                   make_user: Any) -> None:
    ids = catalogue(db, make_user, shops=1, per_shop=3)
    writer = writer_of(app)
    for user in (1, 2):
        writer.put_many(Interaction(EventKind.PURCHASE, ItemType.PRODUCT, product_id,
                                    user_id=user) for product_id in ids[:2])
    writer.put(Interaction(EventKind.IMPRESSION, ItemType.PRODUCT, ids[2], user_id=1))
    writer.flush()
    result = training.train(db, learner=StandInLearner)
    assert (result.events, result.users, result.items, result.neighbour_rows) == (4, 2, 2, 2)
    codes = [model.item_code(ItemType.PRODUCT, i) for i in ids[:2]]
    with db.read() as session:
        rows = {(r.item_code, r.neighbour_code) for r in session.scalars(select(ItemNeighbour))}
        assert rows == {(codes[0], codes[1]), (codes[1], codes[0])}
        assert session.scalar(select(FeedTraining.method)) == "ease"


def test_training_without_a_recommender_keeps_serving_popularity(
        db: Database, monkeypatch: Any) -> None:
    monkeypatch.setattr(training, "recommender", lambda: None)
    result = training.train(db)
    assert result.method == "none" and result.neighbour_rows == 0


def test_a_visitors_first_page_sets_the_cookie_its_next_pages_rank_by(
        client: TestClient) -> None:
    from liveshop.feed.deps import VISITOR_COOKIE

    home = client.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 200 and "For you" in home.text
    visitor = client.cookies.get(VISITOR_COOKIE)
    assert visitor
    assert client.get("/feed/cards").status_code == 200
    assert client.cookies.get(VISITOR_COOKIE) == visitor
