"""Two app processes sharing PostgreSQL/SQLite and Redis: a viewer connected to process A
sees what a host and buyers do through process B."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select, update
from websockets.sync.client import connect

from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.live.broker import RedisBroker
from liveshop.live.orm import FlashSale, SalePurchase
from liveshop.live.purchase_settlement import DuePurchase
from liveshop.live.room_events import RoomEvents, channel_of
from liveshop.live.schemas import BuyView
from liveshop.payments.orm import PaymentMethod
from tests.factories import VariantSpec, create_product, create_shop, make_buyers
from tests.live.conftest import Room, Sale, purchases_of, settled, tap, tell_rooms
from tests.processes import SERVING_SECRET_KEY, Server


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test's own app signs cookies as the two processes do, so its users' sessions are
    valid on both."""
    return settings.model_copy(update={"secret_key": SERVING_SECRET_KEY})


@contextlib.contextmanager
def running_two(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    env = {"LIVESHOP_DATABASE_URL": database_url, "LIVESHOP_REDIS_URL": redis_url,
           "LIVESHOP_RTMP_PORT": "0",
           "LIVESHOP_VIDEO_INGEST": "false", "LIVESHOP_MEDIA_DIR": str(tmp_path / "media")}
    servers = [Server(env, tmp_path / f"server-{name}.log") for name in "ab"]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def two_processes(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    with running_two(database_url, redis_url, tmp_path) as servers:
        yield servers


def test_a_viewer_on_one_process_follows_a_show_run_through_another(
    db: Database, make_user: Any, two_processes: list[Server]
) -> None:
    process_a, process_b = two_processes
    host = make_user("seller")  # the session cookie is valid on every process (same key)
    shop = create_shop(db, host.id, {"UK": 399})
    product, (variant,) = create_product(db, shop, [VariantSpec(prices={"UK": 2000},
                                                                stock=10)])
    with httpx.Client(base_url=process_b.url, cookies=dict(host.http.cookies),
                      headers={"X-CSRF-Token": host.http.headers["X-CSRF-Token"]},
                      timeout=15) as on_b:
        show = on_b.post("/api/v1/shows", json={
            "shop_id": shop, "title": "Two processes", "markets": ["UK"],
            "scheduled_at": utcnow().isoformat(), "product_ids": [product]}).json()["id"]
        assert on_b.post(f"/api/v1/shows/{show}/live").status_code == 200

        viewer = Room(connect(f"ws://{process_a.url.removeprefix('http://')}/ws/shows/{show}",
                              close_timeout=1))
        try:
            assert on_b.put(f"/api/v1/shows/{show}/pin",
                            json={"product_id": product}).status_code == 200
            assert viewer.next("pin", timeout=5)["product"]["id"] == product
            assert on_b.post(f"/api/v1/shows/{show}/chat",
                             json={"text": "hello from B"}).status_code == 201
            assert viewer.chat_texts(timeout=5) == ["hello from B"]
            sale = on_b.post(f"/api/v1/shows/{show}/sales", json={
                "variant_id": variant, "prices": {"UK": 1000}, "quantity": 1,
                "per_buyer_limit": 1, "duration_seconds": 60}).json()
            assert viewer.next("sale", timeout=5)["sale"]["id"] == sale["id"]
            [token] = make_buyers(db, 1)
            bought = httpx.post(f"{process_b.url}/api/v1/shows/{show}/buy",
                                json={"variant_id": variant, "quantity": 1}, timeout=15,
                                headers={"Authorization": f"Bearer {token}",
                                         "Accept-Language": "en-GB", "Idempotency-Key": "b1"})
            assert bought.status_code == 202, bought.text
            with httpx.Client(base_url=process_b.url, timeout=15) as http:
                assert settled(http, bought)["status"] == "paid"
            assert viewer.next("sale_sold_out", timeout=5)["sale_id"] == sale["id"]
            stock = viewer.next("stock", timeout=5)
            assert stock["sale"] == {"id": sale["id"], "remaining": 0}
            assert {"type": "viewers", "count": 1} in viewer.seen
        finally:
            viewer.close()


def _tap(server: Server, sale: Sale, token: str, key: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/shows/{sale.show_id}/buy",
                      json={"variant_id": sale.variant_id, "quantity": 1}, timeout=15,
                      headers={"Authorization": f"Bearer {token}", "Accept-Language": "en-GB",
                               "Idempotency-Key": key})


def test_taps_whose_keys_once_overflowed_or_collided_are_paid(
    db: Database, make_sale: Callable[[int, int], Sale], two_processes: list[Server]
) -> None:
    # The server used to store a tap's steps under "<key>:checkout", "<key>:release": past
    # 255 characters for a long key, or keys the buyer had already spent elsewhere.
    process_a, process_b = two_processes
    sale = make_sale(2, 0)
    long_key_buyer, spender = make_buyers(db, 2)
    long_tap = _tap(process_a, sale, long_key_buyer, "k" * 249)
    with httpx.Client(base_url=process_b.url, timeout=15,
                      headers={"Authorization": f"Bearer {spender}",
                               "Accept-Language": "en-GB"}) as on_b:
        for spent in ("K:checkout", "K:release"):
            refused = on_b.post("/api/v1/checkouts", json={}, headers={"Idempotency-Key": spent})
            assert refused.json()["error"]["code"] == "cart_empty", refused.text
    spender_tap = _tap(process_a, sale, spender, "K")
    with httpx.Client(base_url=process_b.url, timeout=15) as http:
        assert settled(http, long_tap, timeout=20)["status"] == "paid"
        assert settled(http, spender_tap, timeout=20)["status"] == "paid"


def _decline_cards_of(db: Database, user_id: int) -> None:
    with db.transaction() as session:
        session.execute(update(PaymentMethod).where(PaymentMethod.user_id == user_id)
                        .values(token="tok_test_card_declined_x"))


def _wait_for_listeners(redis_url: str, channel: str, seconds: float) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not client.pubsub_numsub(channel)[0][1]:
            time.sleep(0.01)
    finally:
        client.close()


def test_a_retried_tap_whose_claim_another_process_made_replays_instead_of_sold_out(
    db: Database, settings: Settings, make_sale: Callable[[int, int], Sale],
    database_url: str, redis_url: str, tmp_path: Path,
) -> None:
    sale = make_sale(1, 1)
    [holder] = sale.buyers
    _decline_cards_of(db, holder.user_id)
    # The holder claims the sale's only unit on process B (this test's process stands in
    # for it: A hears of it only through Redis), whose settlement holds the purchase.
    claimed = tap(purchases_of(db, settings), holder, sale.show_id, sale.variant_id,
                  "holder-tap")
    assert isinstance(claimed, BuyView) and claimed.purchase_id is not None
    with db.transaction() as session:
        purchase = session.get_one(SalePurchase, claimed.purchase_id)
        purchase.lease_until = utcnow() + timedelta(minutes=5)
        session.flush()
        session.expunge(purchase)
    late_buyer, second_chance = make_buyers(db, 2)
    broker = RedisBroker(redis_url)
    with running_two(database_url, redis_url, tmp_path) as (process_a, process_b), \
            contextlib.closing(broker._publisher):
        refused = _tap(process_a, sale, late_buyer, "late-tap")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "sold_out"
        # A's gate is closed now, the holder its only claimant, for the next second.
        _wait_for_listeners(redis_url, channel_of(sale.show_id), seconds=0.5)
        # On B the holder's card is declined: the unit goes back to the sale...
        with db.read() as session:
            hold_id = session.scalar(select(FlashSale.hold_id)
                                     .where(FlashSale.id == sale.sale_id))
        tell_rooms(db, RoomEvents(broker))
        purchases_of(db, settings).settle(
            DuePurchase(purchase, holder, hold_id))
        with db.read() as session:
            assert session.scalar(select(FlashSale.remaining)
                                  .where(FlashSale.id == sale.sale_id)) == 1
        # ...and another buyer claims it on B, then retries the same tap on A (the first
        # answer was lost): the retry replays the claim.
        won = _tap(process_b, sale, second_chance, "second-chance")
        assert won.status_code == 202, won.text
        retried = _tap(process_a, sale, second_chance, "second-chance")
        assert retried.status_code in (201, 202), retried.text
        assert retried.json()["purchase_id"] == won.json()["purchase_id"]
