"""The demo's feed: simulated shoppers with a known taste structure, and demo buyers whose
feeds are their own."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi.testclient import TestClient

from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.demo.catalog import DEMO_PASSWORD
from liveshop.demo.feed import TASTES, simulate
from liveshop.demo.seed import seed_demo


def test_simulated_shoppers_mostly_keep_to_their_taste() -> None:
    products = {taste: [(number * 10 + i, "UK") for i in range(8)]
                for number, taste in enumerate(TASTES)}
    taste_of_product = {product_id: taste for taste, items in products.items()
                        for product_id, _ in items}
    people, events = simulate(products, utcnow(), shoppers=200)
    taste_of = {person.visitor_id: person.taste for person in people}
    on_taste = sum(taste_of_product[e.item_id] == taste_of[e.visitor_id] for e in events)
    assert on_taste / len(events) > 0.8
    # Within a taste, a few products are far more popular than the rest.
    counts = Counter(e.item_id for e in events)
    assert counts.most_common(1)[0][1] > 3 * sorted(counts.values())[len(counts) // 2]


def log_in(app: Any, email: str, language: str) -> TestClient:
    client = TestClient(app, headers={"Accept-Language": language})
    answer = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def test_the_demo_buyers_feeds_are_their_own(app: Any, db: Database,
                                             settings: Settings) -> None:
    seed_demo(db, settings)
    lena = log_in(app, "lena@example.com", "de-DE")
    following = lena.get("/api/v1/feed", params={"tab": "following"}).json()["items"]
    assert following and {c["shop_name"] for c in following} >= {"Kiez Kollektiv"}
    lenas = lena.get("/api/v1/feed").json()["items"]
    ben = log_in(app, "ben@example.com", "en-GB")
    bens = ben.get("/api/v1/feed").json()["items"]
    assert lenas and bens and [c["key"] for c in lenas] != [c["key"] for c in bens]
    # Lena's reasons are her own: what she watched, whom she follows, her market's popular
    # items; Ben follows Nina Live, whose show, showcase and samples lead his.
    assert {"Popular in Deutschland", "Because you follow Kiez Kollektiv"} <= _reasons(
        lena, pages=3)
    assert any(why.startswith("Because you watched") for why in _reasons(lena, pages=1))
    assert "Because you follow Nina Live" in _reasons(ben, pages=1)
    assert len(lenas) == 10  # a page, however few shops sell in the market


def _reasons(person: Any, pages: int) -> set[str]:
    """Why the cards of the first ``pages`` pages of For you are there."""
    reasons: set[str] = set()
    cursor = None
    for _ in range(pages):
        page = person.get("/api/v1/feed", params={"cursor": cursor} if cursor else {}).json()
        reasons |= {card["why"] for card in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return reasons
