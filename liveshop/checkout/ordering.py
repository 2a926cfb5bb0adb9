"""Order numbers and the first entry of an order's history, as checkout creates orders.
Later status changes go through ``liveshop.orders.service.transition``."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from liveshop.checkout.model import new_order_number
from liveshop.orders.orm import Order, OrderEvent


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
