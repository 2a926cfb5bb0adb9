"""What happened to orders, as domain events (liveshop/core/events.py), recorded in the
transaction that made it happen. Handlers: the live room's control panel
(liveshop/live/room_publisher.py, right after the commit) and the buyer's and seller's
notices and e-mails (liveshop/notifications/order_notices.py, through the outbox); later
the ledger, Shopify pushes and feed events.

They are durable: the notices and mails they bring must not be lost to a crash between the
commit and the handler, so the outbox carries them (at least once)."""

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

    The live room hears it right after the commit (``subscribe_at_commit``: it may miss it
    as it may miss any broadcast); the order confirmation e-mail through the outbox."""

    durable = True
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


@dataclass(frozen=True)
class OrderShipped(DomainEvent):
    """The seller handed the order to a carrier."""

    durable = True
    order_id: int
    number: str
    buyer_id: int
    shop_id: int
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class OrderDelivered(DomainEvent):
    """The order reached the buyer: the return window opens."""

    durable = True
    order_id: int
    number: str
    buyer_id: int
    shop_id: int


@dataclass(frozen=True)
class OrderRefunded(DomainEvent):
    """Money went back to the buyer's card: a refund of some or all of the order, or the
    whole of a paid order cancelled."""

    durable = True
    refund_id: int
    order_id: int
    number: str
    buyer_id: int
    shop_id: int
    currency: str
    amount: int  # minor units of ``currency``
    # Nothing is left to refund: the whole order has been refunded.
    in_full: bool


@dataclass(frozen=True)
class ReturnRequested(DomainEvent):
    """The buyer asked to send the order back; the shop decides."""

    durable = True
    return_id: int
    order_id: int
    number: str
    buyer_id: int
    shop_id: int
    reason: str
