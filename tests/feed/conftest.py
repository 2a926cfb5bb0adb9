"""Helpers of the feed's tests: shows, purchases through the real checkout, the writer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from liveshop.core.db import utcnow
from liveshop.feed.ingest import EventWriter
from liveshop.services import app_services
from tests.checkout.conftest import OK_CARD, UK_ADDRESS, add, check_out, key, pay


def writer_of(app: Any) -> EventWriter:
    return app_services(app).feed.writer


def schedule_show(host: Any, shop_id: int, product_ids: list[int], title: str = "Friday drop",
                  live: bool = False, hours: float = 0.1) -> int:
    created = host.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": title, "markets": ["UK", "DE"],
        "scheduled_at": (utcnow() + timedelta(hours=hours)).isoformat(),
        "product_ids": product_ids})
    assert created.status_code == 201, created.text
    show_id: int = created.json()["id"]
    if live:
        assert host.post(f"/api/v1/shows/{show_id}/live").status_code == 200
    return show_id


def buy(buyer: Any, variant_id: int) -> None:
    """Cart, checkout and payment through the API, as a buyer does."""
    assert add(buyer, variant_id).status_code in (200, 201)
    checkout = check_out(buyer, address=UK_ADDRESS)
    assert checkout.status_code == 201, checkout.text
    paid = pay(buyer, checkout.json()["id"], card=OK_CARD)
    assert paid.status_code == 200, paid.text


__all__ = ["buy", "key", "schedule_show", "writer_of"]
