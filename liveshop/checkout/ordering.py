"""Order rows as checkout creates and settles them; shared with the orders domain.

``transition_order`` is the one place an order changes status together with its history
(OrderEvent) and timestamps, inside the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from liveshop.checkout.model import new_order_number
from liveshop.core.db import utcnow
from liveshop.orders.model import OrderStatus, ensure_transition
from liveshop.orders.orm import Order, OrderEvent

TIMESTAMP_OF = {
    OrderStatus.PAID: "paid_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
}


def unique_order_number(session: Session) -> str:
    """A fresh human-readable number; 30^6 choices make a clash rare, so checking is enough."""
    while True:
        number = new_order_number()
        if not session.scalar(select(exists().where(Order.number == number))):
            return number


def record_event(session: Session, order: Order, from_status: str | None, to_status: str,
                 actor_id: int | None = None, note: str = "") -> None:
    session.add(OrderEvent(order_id=order.id, from_status=from_status, to_status=to_status,
                           actor_id=actor_id, note=note))


def transition_order(session: Session, order: Order, to_status: OrderStatus | str,
                     actor_id: int | None = None, note: str = "") -> None:
    """Move an order along the status machine (409 if illegal) and record the event."""
    target = OrderStatus(to_status)
    ensure_transition(order.status, target)
    previous = order.status
    order.status = target.value
    if target in TIMESTAMP_OF:
        setattr(order, TIMESTAMP_OF[target], utcnow())
    record_event(session, order, previous, target.value, actor_id, note)
