"""Order rules: the status machine, the return window and refund amounts. No HTTP, no SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from liveshop.core.errors import Conflict, InvalidInput
from liveshop.creators.model import buyer_part
from liveshop.markets.model import Market


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.CANCELLED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
# Money can be returned to the buyer only once it was taken and until it is all returned.
REFUNDABLE = frozenset({S.PAID, S.SHIPPED, S.DELIVERED})


def can_transition(current: OrderStatus | str, target: OrderStatus | str) -> bool:
    return OrderStatus(target) in TRANSITIONS[OrderStatus(current)]


def ensure_transition(current: OrderStatus | str, target: OrderStatus | str) -> None:
    if not can_transition(current, target):
        raise Conflict(
            f"An order that is {OrderStatus(current).value} cannot become "
            f"{OrderStatus(target).value}",
            field="status", code="illegal_transition",
        )


# --- returns ---

def return_deadline(market: Market, delivered_at: datetime | None) -> datetime | None:
    """Last moment a return may be requested, or None when there is no statutory window."""
    if market.withdrawal_days is None or delivered_at is None:
        return None
    return delivered_at + timedelta(days=market.withdrawal_days)


def ensure_return_allowed(status: OrderStatus | str, market: Market,
                          delivered_at: datetime | None, now: datetime) -> None:
    if OrderStatus(status) is not S.DELIVERED:
        raise Conflict(
            f"Returns can be requested once an order is delivered; this one is "
            f"{OrderStatus(status).value}", code="return_not_allowed",
        )
    if market.withdrawal_days is None:
        raise Conflict(
            f"Orders in {market.name} have no statutory return window; "
            "please contact the seller directly", code="no_return_window",
        )
    deadline = return_deadline(market, delivered_at)
    if deadline is None or now > deadline:
        raise Conflict(
            f"The {market.withdrawal_days}-day return window for this order has closed",
            code="return_window_closed",
        )


# --- refunds ---

@dataclass(frozen=True)
class LineState:
    line_id: int
    label: str
    quantity: int
    refunded_quantity: int
    unit_price: int
    line_total: int = 0
    # A platform-funded voucher's part of the line: the buyer gets back only their part.
    discount: int = 0

    def refund_of(self, quantity: int) -> int:
        """What refunding ``quantity`` more units gives the buyer back."""
        if not self.discount:
            return self.unit_price * quantity
        before = price_of_units(self.line_total, self.quantity, self.unit_price,
                                self.refunded_quantity)
        after = price_of_units(self.line_total, self.quantity, self.unit_price,
                               self.refunded_quantity + quantity)
        return buyer_part(self.line_total, self.discount, before, after - before)

    @property
    def remaining(self) -> int:
        return self.quantity - self.refunded_quantity


def price_of_units(line_total: int, quantity: int, unit_price: int, units: int) -> int:
    """The price of ``units`` of a line: the unit price each, the line's total for all."""
    return line_total if units >= quantity else min(line_total, units * unit_price)


@dataclass(frozen=True)
class RefundPlan:
    quantities: dict[int, int]  # line id -> units to refund now
    amount: int
    # True when nothing will be left to refund afterwards: the order becomes "refunded".
    completes: bool


def plan_refund(lines: Sequence[LineState], requested: Mapping[int, int] | None, *,
                total: int, refunded_amount: int) -> RefundPlan:
    """What a refund returns. ``requested`` maps line ids to units; None means everything.

    Lines refund at unit_price * quantity. Shipping is only returned when the refund leaves
    no unit un-refunded (a full refund), which is also what the EU/UK withdrawal rules
    require for the standard delivery charge. Never more than the buyer still has paid in.
    """
    remaining_paid = total - refunded_amount
    if requested is None:
        quantities = {line.line_id: line.remaining for line in lines if line.remaining > 0}
        if not quantities and remaining_paid <= 0:
            raise Conflict("This order has already been refunded in full",
                           code="nothing_to_refund")
        return RefundPlan(quantities, remaining_paid, completes=True)

    by_id = {line.line_id: line for line in lines}
    quantities = {}
    for position, (line_id, quantity) in enumerate(requested.items()):
        field = f"lines.{position}"
        line = by_id.get(line_id)
        if line is None:
            raise InvalidInput(f"Line {line_id} is not part of this order",
                               field=f"{field}.line_id")
        if quantity <= 0:
            raise InvalidInput("Refund quantity must be at least 1", field=f"{field}.quantity")
        if quantity > line.remaining:
            raise Conflict(
                f"Cannot refund {quantity} of {line.label} (line {line_id}): only "
                f"{line.remaining} of {line.quantity} bought are left to refund",
                field=f"{field}.quantity", code="over_refund",
            )
        quantities[line_id] = quantity
    if not quantities:
        raise InvalidInput("Choose at least one line to refund", field="lines")

    completes = all(quantities.get(line.line_id, 0) == line.remaining for line in lines)
    if completes:
        return RefundPlan(quantities, remaining_paid, completes=True)
    amount = sum(by_id[line_id].refund_of(quantity) for line_id, quantity in quantities.items())
    return RefundPlan(quantities, min(amount, remaining_paid), completes=False)
