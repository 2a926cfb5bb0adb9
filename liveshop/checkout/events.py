"""What happened in carts, as domain events (liveshop/core/events.py). Heard after the
commit by the feed (liveshop/feed/ingest.py), which learns from what buyers pick."""

from __future__ import annotations

from dataclasses import dataclass

from liveshop.core.events import DomainEvent


@dataclass(frozen=True)
class CartItemAdded(DomainEvent):
    user_id: int
    product_id: int
    shop_id: int
    market: str
    quantity: int
