"""Two app processes sharing PostgreSQL/SQLite and Redis: a viewer connected to process A
sees what a host and buyers do through process B."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from tests.factories import VariantSpec, create_product, create_shop, make_buyers
from tests.live.conftest import Room, settled
from tests.processes import SERVING_SECRET_KEY, Server


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test's own app signs cookies as the two processes do, so its users' sessions are
    valid on both."""
    return settings.model_copy(update={"secret_key": SERVING_SECRET_KEY})


@pytest.fixture
def two_processes(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    env = {"LIVESHOP_DATABASE_URL": database_url, "LIVESHOP_REDIS_URL": redis_url,
           "LIVESHOP_RTMP_PORT": "0",
           "LIVESHOP_VIDEO_INGEST": "false", "LIVESHOP_MEDIA_DIR": str(tmp_path / "media")}
    servers = [Server(env, tmp_path / f"server-{name}.log") for name in "ab"]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


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
