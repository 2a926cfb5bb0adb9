"""What happened to orders, as domain events (liveshop/core/events.py), recorded in the
transaction that made it happen. Handlers: the live room's control panel
(liveshop/live/room_publisher.py); later the ledger, Shopify pushes and feed events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from liveshop.core.events import DomainEvent


class PaidLine(TypedDict):
    variant_id: int
    product_title: str
    quantity: int
    unit_price: int
    # The variant's stock once this line's units were sold: units available at the regular
    # price and the stock's version (a room shows them without a query of its own). None
    # for a line that reserved no stock.
    available: int | None
    stock_version: int | None


@dataclass(frozen=True)
class OrderPaid(DomainEvent):
    """An order's payment went through (checkout's payment committed).

    Not durable yet: its one handler tells a live room, which may miss it as it may miss
    any broadcast. A handler that must not miss it (the ledger) makes it durable, through
    the outbox (``durable = True``; its fields already survive the JSON round trip)."""

    order_id: int
    number: str
    checkout_id: int
    buyer_id: int
    buyer_name: str
    shop_id: int
    currency: str
    total: int  # minor units of ``currency``
    lines: list[PaidLine]
    # Set for an order bought in a live show: the show, its creator (the host earning a
    # commission) and the flash sale its units came from.
    show_id: int | None
    creator_id: int | None
    flash_sale_id: int | None
