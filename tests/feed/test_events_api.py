"""POST /api/v1/events: checked, queued, written in batches; bad input refused naming the
field; floods limited; a visitor's events tied to the account at log-in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from liveshop.core.db import Database, utcnow
from liveshop.feed.deps import VISITOR_COOKIE
from liveshop.feed.ingest import EventWriter, Interaction
from liveshop.feed.model import EventKind, ItemType
from liveshop.feed.orm import FeedEvent
from tests.conftest import DEFAULT_PASSWORD
from tests.factories import create_product, create_shop
from tests.feed.conftest import writer_of


@pytest.fixture
def product_id(db: Database, make_user: Any) -> int:
    seller = make_user("seller")
    product, _ = create_product(db, create_shop(db, seller.id))
    return product


def events(db: Database) -> list[FeedEvent]:
    with db.read() as session:
        return list(session.scalars(select(FeedEvent).order_by(FeedEvent.id)))


def test_a_visitors_batch_is_queued_then_written_with_its_cookie(
        app: Any, db: Database, client: TestClient, product_id: int) -> None:
    sent = client.post("/api/v1/events", json={"events": [
        {"type": "impression", "item_type": "product", "item_id": product_id},
        {"type": "click", "item_type": "product", "item_id": product_id},
    ]})
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"accepted": 2, "dropped": 0}
    visitor = client.cookies.get(VISITOR_COOKIE)
    assert visitor
    writer_of(app).flush()
    written = events(db)
    assert [e.kind for e in written] == ["impression", "click"]
    assert {e.visitor_id for e in written} == {visitor}
    assert {e.user_id for e in written} == {None}
    assert written[0].shop_id is not None and written[0].market == "UK"


@pytest.mark.parametrize(("event", "field"), [
    ({"type": "teleport"}, "events.0.type"),
    ({"type": "purchase"}, "events.0.type"),  # the server records purchases itself
    ({"item_id": 999_999}, "events.0.item_id"),
    ({"item_type": "show", "item_id": 999_999}, "events.0.item_id"),
    ({"at": "2099-01-01T00:00:00+00:00"}, "events.0.at"),
    ({"at": "2001-01-01T00:00:00+00:00"}, "events.0.at"),
    ({"value": -1}, "events.0.value"),
    ({"item_id": 2**40}, "events.0.item_id"),
])
def test_bad_events_are_refused_naming_the_field(
        client: TestClient, product_id: int, event: dict[str, Any], field: str) -> None:
    body = {"type": "click", "item_type": "product", "item_id": product_id} | event
    refused = client.post("/api/v1/events", json={"events": [body]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field


def test_oversized_batches_and_floods_are_refused(client: TestClient, product_id: int,
                                                  app: Any) -> None:
    one = {"type": "impression", "item_type": "product", "item_id": product_id}
    too_many = client.post("/api/v1/events", json={"events": [one] * 101})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["field"] == "events"
    limit = app.state.services.context.settings.feed_event_batches_per_minute
    answers = [client.post("/api/v1/events", json={"events": [one]}).status_code
               for _ in range(limit + 1)]
    assert answers[:limit] == [202] * limit
    assert answers[-1] == 429


def test_a_full_queue_drops_and_counts(db: Database) -> None:
    writer = EventWriter(db, capacity=100)
    writer._start = lambda: None  # type: ignore[method-assign]  # no thread drains it
    taken = writer.put_many(Interaction(EventKind.CLICK, ItemType.PRODUCT, 1)
                            for _ in range(150))
    assert taken == 100
    assert writer.stats.dropped == 50


def test_logging_in_ties_the_visitors_events_to_the_account(
        app: Any, db: Database, make_user: Any, product_id: int) -> None:
    buyer = make_user("buyer")
    email = buyer.user["email"]
    with TestClient(app) as browser:
        assert browser.post("/api/v1/events", json={"events": [
            {"type": "click", "item_type": "product", "item_id": product_id}]}
        ).status_code == 202
        logged_in = browser.post("/api/v1/auth/login",
                                 json={"email": email, "password": DEFAULT_PASSWORD})
        assert logged_in.status_code == 200, logged_in.text
        browser.headers["X-CSRF-Token"] = logged_in.json()["csrf_token"]
        assert browser.get("/api/v1/feed").status_code == 200
    writer_of(app).flush()
    assert [e.user_id for e in events(db)] == [buyer.id]


def test_a_beacon_sends_the_csrf_token_in_the_query(
        make_user: Any, product_id: int) -> None:
    buyer = make_user("buyer")
    body = {"events": [{"type": "click", "item_type": "product", "item_id": product_id}]}
    csrf = buyer.http.headers.pop("X-CSRF-Token")
    assert buyer.post("/api/v1/events", json=body).status_code == 403
    assert buyer.post(f"/api/v1/events?csrf_token={csrf}", json=body).status_code == 202


def test_purchases_follows_and_cart_lines_are_recorded_after_commit(
        app: Any, db: Database, make_user: Any) -> None:
    from tests.feed.conftest import buy

    seller = make_user("seller")
    shop = create_shop(db, seller.id)
    product, [variant] = create_product(db, shop)
    buyer = make_user("buyer")
    assert buyer.put(f"/api/v1/shops/{shop}/follow").status_code == 200
    assert buyer.put(f"/api/v1/creators/{seller.id}/follow").status_code == 200
    buy(buyer, variant)
    writer_of(app).flush()
    recorded = {(e.kind, e.item_type, e.item_id) for e in events(db) if e.user_id == buyer.id}
    assert recorded >= {("follow", "shop", shop), ("follow", "creator", seller.id),
                        ("add_to_cart", "product", product), ("purchase", "product", product)}


def test_old_events_are_summarised_then_deleted(db: Database) -> None:
    from liveshop.feed.orm import FeedEventDay
    from liveshop.feed.retention import prune

    writer = EventWriter(db)
    old = utcnow() - timedelta(days=200)
    writer.write([Interaction(EventKind.CLICK, ItemType.PRODUCT, 5, user_id=u, market="DE",
                              occurred_at=old) for u in (1, 2, 2)]
                 + [Interaction(EventKind.CLICK, ItemType.PRODUCT, 5, user_id=1)])
    assert prune(db, 180) == 3
    assert len(events(db)) == 1
    with db.read() as session:
        [day] = session.scalars(select(FeedEventDay))
        assert (day.kind, day.item_id, day.events, day.people, day.market) == (
            "click", 5, 3, 2, "DE")
