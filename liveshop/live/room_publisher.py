"""Tells the live rooms what their use cases committed.

Use cases record domain events inside their transaction (liveshop/live/events.py; orders
from liveshop/orders/events.py); once it commits, the event bus hands each one here, and it
becomes the frame of the live protocol (docs/live-protocol.md), or the update the hubs
coalesce into one, published once to the room's channel. Nothing is published for a
transaction that rolled back. The composition root (liveshop/app.py) subscribes this once.
Handlers run in the committing thread: each only builds a small dict and publishes it.
"""

from __future__ import annotations

from collections.abc import Callable

from liveshop.core.events import EventBus
from liveshop.live.events import (
    ChatDeleted,
    ChatPosted,
    HostChanged,
    ProductPinned,
    SaleEnded,
    SaleSoldOut,
    SaleStarted,
    ShowEnded,
    ShowWentLive,
    SlowModeChanged,
    StockChanged,
    UserBanned,
    UserMuted,
)
from liveshop.live.frames import Frame, HostFrame
from liveshop.live.room_events import CLOSE_RESYNC, RoomEvents, StockUpdate
from liveshop.orders.events import OrderPaid


class RoomPublisher:
    """``rooms``: where rooms are published to now (the hub serving at the time)."""

    def __init__(self, rooms: Callable[[], RoomEvents]) -> None:
        self._rooms = rooms

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ShowWentLive, self.show_went_live)
        bus.subscribe(ShowEnded, self.show_ended)
        bus.subscribe(ProductPinned, self.product_pinned)
        bus.subscribe(HostChanged, self.host_changed)
        bus.subscribe(SaleStarted, self.sale_started)
        bus.subscribe(SaleEnded, self.sale_ended)
        bus.subscribe(SaleSoldOut, self.sale_sold_out)
        bus.subscribe(StockChanged, self.stock_changed)
        bus.subscribe(ChatPosted, self.chat_posted)
        bus.subscribe(ChatDeleted, self.chat_deleted)
        bus.subscribe(SlowModeChanged, self.slow_mode_changed)
        bus.subscribe(UserMuted, self.user_muted)
        bus.subscribe(UserBanned, self.user_banned)
        # Durable (its e-mail goes through the outbox); the room hears it at once.
        bus.subscribe_at_commit(OrderPaid, self.order_paid)

    def broadcast(self, show_id: int, frame: Frame) -> None:
        """To everyone in the room: for the facts of packages above live (the video's)."""
        self._rooms().broadcast(show_id, frame)

    def show_went_live(self, event: ShowWentLive) -> None:
        self.broadcast(event.show_id, {"type": "status", "status": "live",
                                       "started_at": event.started_at})

    def show_ended(self, event: ShowEnded) -> None:
        self.broadcast(event.show_id, {"type": "status", "status": "ended"})

    def product_pinned(self, event: ProductPinned) -> None:
        self.broadcast(event.show_id, {"type": "pin", "product": event.product})

    def host_changed(self, event: HostChanged) -> None:
        host: HostFrame = {"type": "host", "host_id": event.host_id,
                           "host_name": event.host_name}
        rooms = self._rooms()
        rooms.broadcast(event.show_id, host)
        # The previous host's sockets were staff (orders, host controls): they reconnect for
        # a snapshot of what they may do now.
        rooms.to_user(event.show_id, event.previous_host_id, host, disconnect=True,
                      close_code=CLOSE_RESYNC)

    def sale_started(self, event: SaleStarted) -> None:
        self.broadcast(event.show_id, {"type": "sale", "sale": event.sale})

    def sale_ended(self, event: SaleEnded) -> None:
        self.broadcast(event.show_id, {"type": "sale_ended", "sale_id": event.sale_id,
                                       "reason": event.reason})

    def sale_sold_out(self, event: SaleSoldOut) -> None:
        self.broadcast(event.show_id, {"type": "sale_sold_out", "sale_id": event.sale_id})

    def stock_changed(self, event: StockChanged) -> None:
        update: StockUpdate = {}
        if event.variants:
            update["variants"] = event.variants
        if event.sale is not None:
            update["sale"] = event.sale
        if update:
            self._rooms().stock(event.show_id, update)

    def chat_posted(self, event: ChatPosted) -> None:
        self._rooms().chat(event.show_id, event.message)

    def chat_deleted(self, event: ChatDeleted) -> None:
        self.broadcast(event.show_id, {"type": "chat_deleted", "ids": event.message_ids})

    def slow_mode_changed(self, event: SlowModeChanged) -> None:
        self.broadcast(event.show_id, {"type": "slow_mode", "seconds": event.seconds})

    def user_muted(self, event: UserMuted) -> None:
        self._rooms().to_user(event.show_id, event.user_id,
                              {"type": "muted", "until": event.until})

    def user_banned(self, event: UserBanned) -> None:
        self._rooms().to_user(event.show_id, event.user_id, {"type": "banned"},
                              disconnect=True)

    def order_paid(self, event: OrderPaid) -> None:
        """An order bought in a room: its variants' stock to everyone, the order to the
        host and moderators."""
        if event.show_id is None:
            return
        rooms = self._rooms()
        variants = {str(line["variant_id"]): [line["available"], line["stock_version"]]
                    for line in event.lines
                    if line["available"] is not None and line["stock_version"] is not None}
        if variants:
            rooms.stock(event.show_id, {"variants": variants})
        rooms.to_staff(event.show_id, {
            "type": "order", "number": event.number, "total": event.total,
            "currency": event.currency, "buyer": event.buyer_name,
            "items": [f"{line['quantity']} x {line['product_title']}" for line in event.lines],
            "sale_id": event.flash_sale_id,
        })
