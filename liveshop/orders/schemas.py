"""Order inputs and views (shared by the API and the pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from liveshop.core.inputs import Id, JsonInput, MultiLine, SingleLine
from liveshop.orders.model import OrderStatus
from liveshop.payouts.model import Funds


class ShipIn(JsonInput):
    carrier: Annotated[str, SingleLine(min_length=1, max_length=50)]
    tracking_number: Annotated[str, SingleLine(min_length=1, max_length=100)]


class CancelIn(JsonInput):
    reason: Annotated[str, MultiLine(max_length=500)] = ""


class RefundLineIn(JsonInput):
    line_id: Id
    quantity: int = Field(ge=1, le=10_000)


class RefundIn(JsonInput):
    """Either per-line quantities or ``{"full": true}`` (the service checks it is one of them,
    so the error can name the field)."""

    lines: list[RefundLineIn] = Field(default_factory=list, max_length=200)
    full: bool = False
    note: Annotated[str, MultiLine(max_length=500)] = ""


class ReturnIn(JsonInput):
    reason: Annotated[str, MultiLine(min_length=1, max_length=2000)]


# A line as the buyer ordered it: checkout shows these, the order pages add refunds. (No
# docstring: it would become the OpenAPI description.)
class OrderLineSummary(BaseModel):
    variant_id: int
    product_title: str
    variant_title: str
    sku: str
    quantity: int
    unit_price: int
    line_total: int
    tax: int


class OrderLineView(OrderLineSummary):
    """A line as the order pages show it: the checkout summary plus what was refunded."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    refunded_quantity: int
    image_url: str | None = Field(None, description="the product's first picture, if any")
    creator_id: int | None = Field(None, description="the creator the line was bought "
                                   "through (their show or share link), who earns on it")


class OrderEventView(BaseModel):
    from_status: str | None
    to_status: str
    actor_id: int | None
    actor_name: str | None
    note: str
    created_at: datetime


class ReturnView(BaseModel):
    id: int
    order_id: int
    order_number: str
    buyer_id: int
    reason: str
    status: str
    created_at: datetime
    refunded: int = Field(0, description="Refunded on the order since the return was "
                          "requested (minor units): the buyer is told what came back")


class RefundView(BaseModel):
    id: int
    order_id: int
    amount: int
    currency: str
    provider_ref: str
    created_at: datetime


class OrderSummary(BaseModel):
    id: int
    number: str
    checkout_id: int
    buyer_id: int
    buyer_name: str
    shop_id: int
    shop_name: str
    market: str
    currency: str
    status: OrderStatus
    total: int
    refunded_amount: int
    item_count: int
    created_at: datetime
    image_url: str | None = Field(None, description="the first line's product picture")


class LineCommission(BaseModel):
    """A creator's commission on one order line, from the books: earned when it was paid,
    less what refunds clawed back."""

    line_id: int
    order_id: int
    order_number: str
    product_title: str
    creator_id: int
    creator_name: str
    currency: str
    rate_bp: int
    earned: int
    clawed_back: int
    # What the creator is owed for the line now (earned - clawed_back).
    net: int
    # earned | partly_clawed_back | clawed_back
    state: str
    paid_at: datetime | None
    # Where its money stands: pending (not delivered, or in its withdrawal period),
    # available (the next payout pays it), in_payout (on a statement), paid.
    funds: Funds = Funds.PENDING


class OrderDetail(OrderSummary):
    tax_inclusive: bool
    subtotal: int
    shipping: int
    tax: int
    discount: int = Field(0, description=(
        "What a platform voucher paid of the goods; already taken off total"))
    ship_to: dict[str, Any]
    carrier: str | None
    tracking_number: str | None
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    return_deadline: datetime | None
    lines: list[OrderLineView]
    events: list[OrderEventView]
    returns: list[ReturnView]
    refunds: list[RefundView]
    # The creators' commission on the lines: shown to the shop's seller (and admins) only.
    commissions: list[LineCommission] = Field(default_factory=list)
    actions: list[str] = Field(
        description="What the requesting user may do now: cancel, request_return, ship, "
        "deliver, refund, review_returns."
    )


class RefundResult(BaseModel):
    refund: RefundView
    order: OrderDetail


class Earnings(BaseModel):
    """A creator's commission per order line, newest first, and the totals per currency by
    where the money stands (liveshop/payouts/model.py ``Funds``)."""

    lines: list[LineCommission]
    # Not yet available: the order is not delivered or its withdrawal period runs.
    pending: dict[str, int]
    # The next payout run pays it (negative: a clawback after a payout, carried).
    available: dict[str, int] = {}
    # On a payout statement not yet marked paid, and paid.
    in_payout: dict[str, int] = {}
    paid: dict[str, int] = {}
