"""Order numbers and the first entry of an order's history, as checkout creates orders, and
the event of an order paid. Later status changes go through
``liveshop.orders.service.transition``."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.checkout.model import new_order_number
from liveshop.inventory.service import Available
from liveshop.orders.events import OrderPaid, PaidLine
from liveshop.orders.orm import Order, OrderEvent, OrderLine


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



def order_paid(order: Order, buyer: Actor, stock: dict[int, Available],
               flash_sale_id: int | None) -> OrderPaid:
    """The event of ``order`` paid; ``stock``: its variants' stock once its units were sold
    (of the lines that reserved stock)."""
    return OrderPaid(
        order_id=order.id, number=order.number, checkout_id=order.checkout_id,
        buyer_id=buyer.user_id, buyer_name=buyer.display_name, shop_id=order.shop_id,
        currency=order.currency, total=order.total,
        lines=[_paid_line(line, stock.get(line.variant_id)) for line in order.lines],
        show_id=order.show_id, creator_id=order.creator_id, flash_sale_id=flash_sale_id)


def _paid_line(line: OrderLine, stock: Available | None) -> PaidLine:
    return {"variant_id": line.variant_id, "product_title": line.product_title,
            "quantity": line.quantity, "unit_price": line.unit_price,
            "available": stock.units if stock else None,
            "stock_version": stock.version if stock else None}
