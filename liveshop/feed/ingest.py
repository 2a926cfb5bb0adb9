"""Interaction events in: a bounded queue per process and one writer thread that inserts
them in batches, so that recording an event never waits for the database (a page, the
events API, a live room's chat). What does not fit in the queue is dropped and counted.

Server-side facts (a purchase, a follow, a cart line, a chat message) come from the domain
events of the use cases that made them, after their commit (:func:`record_after_commit`):
no caller has to remember to record them."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from liveshop.catalog.orm import Product, Variant
from liveshop.checkout.events import CartItemAdded
from liveshop.core.db import Database, utcnow
from liveshop.core.events import EventBus
from liveshop.feed.model import EventKind, ItemType
from liveshop.feed.orm import FeedDismissal, FeedEvent
from liveshop.live.events import ChatPosted, CreatorFollowed, ShopFollowed
from liveshop.live.orm import Show
from liveshop.orders.events import OrderPaid

log = logging.getLogger("liveshop.feed.ingest")

# A purchase line names its variant; the writer finds the product (one query per batch).
VARIANT = "variant"


@dataclass(frozen=True, slots=True)
class Interaction:
    kind: EventKind
    item_type: str  # an ItemType, or VARIANT until the writer resolves it
    item_id: int
    user_id: int | None = None
    visitor_id: str | None = None
    shop_id: int | None = None
    creator_id: int | None = None
    show_id: int | None = None
    market: str | None = None
    occurred_at: datetime = field(default_factory=utcnow)
    value: float = 1.0


@dataclass(frozen=True, slots=True)
class VisitorLoggedIn:
    """Tie the visitor's events and "not interested" choices to the account."""

    visitor_id: str
    user_id: int


Queued = Interaction | VisitorLoggedIn


@dataclass
class WriterStats:
    queued: int = 0
    dropped: int = 0
    written: int = 0
    batches: int = 0
    failed: int = 0


class EventWriter:
    """The process's event writer: :meth:`put` from any thread never blocks; a daemon
    thread (started on first use) writes what is queued in batches of up to ``batch``
    rows, at least every ``interval`` seconds."""

    def __init__(self, db: Database, capacity: int = 50_000, batch: int = 1_000,
                 interval: float = 0.25) -> None:
        self.db, self.batch, self.interval = db, batch, interval
        self.stats = WriterStats()
        self._queue: queue.Queue[Queued] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # Queued and not yet written (or failed): what flush() waits for.
        self._pending = 0
        self._idle = threading.Condition()

    def put(self, item: Queued) -> bool:
        """Queue ``item``; False (counted as dropped) when the queue is full."""
        self._start()
        with self._idle:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self.stats.dropped += 1
                return False
            self._pending += 1
        self.stats.queued += 1
        return True

    def put_many(self, items: Iterable[Queued]) -> int:
        return sum(self.put(item) for item in items)

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._run, name="feed-event-writer",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.interval)
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            items = [first]
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.write(items)
            except Exception:  # e.g. the database restarting: these are lost, and counted
                self.stats.failed += len(items)
                log.exception("writing %d feed events failed", len(items))
            finally:
                with self._idle:
                    self._pending -= len(items)
                    self._idle.notify_all()

    def write(self, items: list[Queued]) -> None:
        """Write one batch in one transaction, in order (a log-in merge after the events
        it ties)."""
        with self.db.transaction() as session:
            variants = {i.item_id for i in items
                        if isinstance(i, Interaction) and i.item_type == VARIANT}
            products = dict(session.execute(
                select(Variant.id, Variant.product_id).where(Variant.id.in_(variants))
            ).all()) if variants else {}
            missing_shop = {i.item_id for i in items if isinstance(i, Interaction)
                            and i.item_type == ItemType.SHOW and i.shop_id is None}
            shows = {row.id: row for row in session.execute(
                select(Show.id, Show.shop_id, Show.host_id).where(Show.id.in_(missing_shop)))
            } if missing_shop else {}
            product_ids = {i.item_id for i in items if isinstance(i, Interaction)
                           and i.item_type == ItemType.PRODUCT and i.shop_id is None}
            product_shops = dict(session.execute(
                select(Product.id, Product.shop_id).where(Product.id.in_(product_ids))
            ).all()) if product_ids else {}
            rows: list[dict[str, object]] = []
            for item in items:
                if isinstance(item, VisitorLoggedIn):
                    if rows:
                        session.execute(insert(FeedEvent), rows)
                        rows = []
                    merge_visitor(session, item)
                    continue
                item_type, item_id, shop_id, creator_id = (
                    item.item_type, item.item_id, item.shop_id, item.creator_id)
                if item_type == VARIANT:
                    if item_id not in products:
                        continue
                    item_type, item_id = ItemType.PRODUCT, products[item_id]
                elif item_type == ItemType.SHOW and shop_id is None and item_id in shows:
                    shop_id, creator_id = shows[item_id].shop_id, shows[item_id].host_id
                elif item_type == ItemType.PRODUCT and shop_id is None:
                    shop_id = product_shops.get(item_id)
                rows.append({
                    "kind": item.kind.value, "user_id": item.user_id,
                    "visitor_id": item.visitor_id, "item_type": str(item_type),
                    "item_id": item_id, "shop_id": shop_id, "creator_id": creator_id,
                    "show_id": item.show_id, "market": item.market,
                    "occurred_at": item.occurred_at, "value": item.value})
            if rows:
                session.execute(insert(FeedEvent), rows)
        written = sum(isinstance(i, Interaction) for i in items)
        self.stats.written += written
        self.stats.batches += 1

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written (tests, shutdown)."""
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self) -> None:
        self.flush()
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)


def merge_visitor(session: Session, merge: VisitorLoggedIn) -> None:
    session.execute(update(FeedEvent).where(
        FeedEvent.visitor_id == merge.visitor_id, FeedEvent.user_id.is_(None)
    ).values(user_id=merge.user_id))
    session.execute(update(FeedDismissal).where(
        FeedDismissal.viewer == f"v:{merge.visitor_id}"
    ).values(viewer=f"u:{merge.user_id}"))


def record_after_commit(bus: EventBus, writer: EventWriter) -> None:
    """Purchases, follows, cart lines and chat messages become interaction events once the
    use case that made them committed. Quick handlers: they only queue."""

    def paid(event: OrderPaid) -> None:
        writer.put_many(Interaction(
            EventKind.PURCHASE, VARIANT, line["variant_id"], user_id=event.buyer_id,
            shop_id=event.shop_id, creator_id=event.creator_id, show_id=event.show_id,
            value=float(line["quantity"])) for line in event.lines)
        if event.show_id is not None:
            writer.put(Interaction(EventKind.PURCHASE, ItemType.SHOW, event.show_id,
                                   user_id=event.buyer_id, shop_id=event.shop_id,
                                   creator_id=event.creator_id, show_id=event.show_id))

    def shop_followed(event: ShopFollowed) -> None:
        writer.put(Interaction(EventKind.FOLLOW, ItemType.SHOP, event.shop_id,
                               user_id=event.user_id, shop_id=event.shop_id))

    def creator_followed(event: CreatorFollowed) -> None:
        writer.put(Interaction(EventKind.FOLLOW, ItemType.CREATOR, event.creator_id,
                               user_id=event.user_id, creator_id=event.creator_id))

    def cart_added(event: CartItemAdded) -> None:
        writer.put(Interaction(EventKind.ADD_TO_CART, ItemType.PRODUCT, event.product_id,
                               user_id=event.user_id, shop_id=event.shop_id,
                               market=event.market, value=float(event.quantity)))

    def chatted(event: ChatPosted) -> None:
        writer.put(Interaction(EventKind.CHAT, ItemType.SHOW, event.show_id,
                               user_id=event.message["user_id"], show_id=event.show_id))

    # At commit, not through the outbox: an interaction may be missed in a crash, and the
    # outbox would deliver a purchase twice after a retry (events are not idempotent).
    bus.subscribe_at_commit(OrderPaid, paid)
    bus.subscribe_at_commit(ShopFollowed, shop_followed)
    bus.subscribe_at_commit(CreatorFollowed, creator_followed)
    bus.subscribe_at_commit(CartItemAdded, cart_added)
    bus.subscribe_at_commit(ChatPosted, chatted)
