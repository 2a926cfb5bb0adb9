"""Notices and mails about orders, from the events orders records (liveshop/orders/events.py).

The outbox delivers each event here after its transaction committed, at least once: each
handler posts its notice and queues its mail in one transaction of its own, keyed
(``service.post_once``), so an event delivered again changes nothing. Orders cannot call
these itself: it sits below this package, and knows nothing of notices or mail.

- paid: the buyer's order confirmation;
- shipped, delivered, refunded: the buyer hears of it;
- a return requested: the shop's owner, who decides on it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveshop.accounts.orm import User
from liveshop.catalog.orm import Shop
from liveshop.core.db import Database
from liveshop.core.events import EventBus
from liveshop.markets.model import MARKETS, Market
from liveshop.notifications import model
from liveshop.notifications.service import post_once
from liveshop.orders.events import (
    OrderDelivered,
    OrderPaid,
    OrderRefunded,
    OrderShipped,
    ReturnRequested,
)
from liveshop.orders.orm import Order


def _market(session: Session, order_id: int) -> Market:
    return MARKETS[session.scalars(select(Order.market).where(Order.id == order_id)).one()]


def _to_buyer(session: Session, buyer_id: int, notice: model.Notice) -> None:
    email = session.scalar(select(User.email).where(User.id == buyer_id))
    post_once(session, buyer_id, notice, email)


class OrderNotices:
    def __init__(self, db: Database) -> None:
        self._db = db

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(OrderPaid, self.paid)
        bus.subscribe(OrderShipped, self.shipped)
        bus.subscribe(OrderDelivered, self.delivered)
        bus.subscribe(OrderRefunded, self.refunded)
        bus.subscribe(ReturnRequested, self.return_requested)

    def paid(self, event: OrderPaid) -> None:
        items = [f"{line['quantity']} x {line['product_title']}" for line in event.lines]
        with self._db.transaction() as session:
            total = _market(session, event.order_id).format(event.total)
            _to_buyer(session, event.buyer_id,
                      model.order_paid(event.order_id, event.number, total, items))

    def shipped(self, event: OrderShipped) -> None:
        with self._db.transaction() as session:
            _to_buyer(session, event.buyer_id, model.order_shipped(
                event.order_id, event.number, event.carrier, event.tracking_number))

    def delivered(self, event: OrderDelivered) -> None:
        with self._db.transaction() as session:
            days = _market(session, event.order_id).withdrawal_days
            _to_buyer(session, event.buyer_id,
                      model.order_delivered(event.order_id, event.number, days))

    def refunded(self, event: OrderRefunded) -> None:
        with self._db.transaction() as session:
            amount = _market(session, event.order_id).format(event.amount)
            _to_buyer(session, event.buyer_id, model.order_refunded(
                event.refund_id, event.order_id, event.number, amount, event.in_full))

    def return_requested(self, event: ReturnRequested) -> None:
        with self._db.transaction() as session:
            owner = session.execute(
                select(User.id, User.email).join(Shop, Shop.owner_id == User.id)
                .where(Shop.id == event.shop_id)).one()
            buyer = session.scalar(select(User.display_name).where(User.id == event.buyer_id))
            post_once(session, owner.id, model.return_requested(
                event.return_id, event.order_id, event.number, buyer or "The buyer",
                event.reason), owner.email)
