"""Order use cases after checkout: viewing, shipping, delivery, cancelling, refunds, returns.

Every mutation locks the order row (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
already serialises writers), so two clicks on "refund" cannot both spend the same units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.catalog import service as catalog
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Shop
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from liveshop.core.events import record
from liveshop.core.idempotency import StoredResponse, fingerprint, run_once
from liveshop.inventory import service as inventory
from liveshop.markets.model import MARKETS
from liveshop.orders import commission
from liveshop.orders.events import OrderDelivered, OrderRefunded, OrderShipped, ReturnRequested
from liveshop.orders.model import (
    REFUNDABLE,
    LineState,
    OrderStatus,
    RefundPlan,
    can_transition,
    ensure_return_allowed,
    ensure_transition,
    plan_refund,
    return_deadline,
)
from liveshop.orders.orm import Order, OrderEvent, ReturnRequest
from liveshop.orders.schemas import (
    CancelIn,
    OrderDetail,
    OrderEventView,
    OrderLineView,
    OrderSummary,
    RefundIn,
    RefundResult,
    RefundView,
    ReturnIn,
    ReturnView,
    ShipIn,
)
from liveshop.payments.orm import Refund
from liveshop.payments.provider import PaymentProvider
from liveshop.payments.service import refund as refund_payment
from liveshop.payments.service import succeeded_payment

MAX_PAGE = 100
TIMESTAMPS = {
    OrderStatus.PAID: "paid_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
}


@dataclass(frozen=True)
class Access:
    order: Order
    shop: Shop
    is_buyer: bool
    # The shop's owner, or an admin acting for the platform.
    is_seller: bool

    def require_seller(self, doing: str) -> None:
        if not self.is_seller:
            raise Forbidden(f"Only the shop's seller can {doing}")

    def require_buyer(self, doing: str) -> None:
        if not self.is_buyer:
            raise Forbidden(f"Only the buyer can {doing}")


def _access(session: Session, actor: Actor, order_id: int, *, lock: bool = False) -> Access:
    """The order if the actor may see it. Everyone else gets a 404: orders are private."""
    order = session.get(Order, order_id, with_for_update=lock or None)
    shop = session.get(Shop, order.shop_id) if order is not None else None
    if order is None or shop is None:
        raise NotFound("No such order", field="order_id")
    is_buyer = order.buyer_id == actor.user_id
    is_seller = shop.owner_id == actor.user_id or actor.is_admin
    if not (is_buyer or is_seller):
        raise NotFound("No such order", field="order_id")
    return Access(order, shop, is_buyer, is_seller)


def transition(session: Session, order: Order, target: OrderStatus, actor_id: int | None,
               note: str = "", now: datetime | None = None) -> None:
    """Move an order to ``target`` (409 illegal_transition if not allowed) and record it.

    Checkout calls this too (pending_payment -> paid/cancelled) so the timeline is complete.
    """
    ensure_transition(order.status, target)
    previous = order.status
    order.status = target.value
    stamp = TIMESTAMPS.get(target)
    if stamp:
        setattr(order, stamp, now or utcnow())
    session.add(OrderEvent(order_id=order.id, from_status=previous, to_status=target.value,
                           actor_id=actor_id, note=note))
    if target is OrderStatus.PAID:
        # In the payment's transaction, whichever path paid: the money is in the books
        # with the payment, or neither is.
        commission.book_paid(session, order, now)


def _note(session: Session, order: Order, actor_id: int | None, note: str) -> None:
    """A timeline entry that is not a status change (partial refund, return decisions)."""
    session.add(OrderEvent(order_id=order.id, from_status=order.status,
                           to_status=order.status, actor_id=actor_id, note=note))


# --- reading ---

def _summaries(session: Session, orders: list[tuple[Order, str, str]]) -> list[OrderSummary]:
    pictures = catalog.variant_pictures(
        session, [order.lines[0].variant_id for order, _, _ in orders if order.lines])
    return [
        OrderSummary(
            id=order.id, number=order.number, checkout_id=order.checkout_id,
            buyer_id=order.buyer_id, buyer_name=buyer_name, shop_id=order.shop_id,
            shop_name=shop_name, market=order.market, currency=order.currency,
            status=OrderStatus(order.status), total=order.total,
            refunded_amount=order.refunded_amount,
            item_count=sum(line.quantity for line in order.lines), created_at=order.created_at,
            image_url=pictures.get(order.lines[0].variant_id) if order.lines else None,
        )
        for order, shop_name, buyer_name in orders
    ]


def listed() -> ColumnElement[bool]:
    """Which orders the buyer's and the seller's lists show: not those cancelled before they
    were ever paid (a declined card, a hold that ran out, a checkout replaced or given up).
    To the buyer and the seller they never were orders. They are not deleted: the row keeps
    its timeline, the declined payment points at its checkout and the stock ledger at its
    reservations, for support and audit, and its page still opens from a direct link."""
    return or_(Order.status != OrderStatus.CANCELLED.value, Order.paid_at.is_not(None))


def _listing(session: Session, *conditions: object, limit: int, offset: int
             ) -> list[OrderSummary]:
    rows = session.execute(
        select(Order, Shop.name, User.display_name)
        .join(Shop, Shop.id == Order.shop_id)
        .join(User, User.id == Order.buyer_id)
        .where(listed(), *conditions)  # type: ignore[arg-type]
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
    ).all()
    return _summaries(session, [(row[0], row[1], row[2]) for row in rows])


def list_buyer_orders(db: Database, actor: Actor, checkout_id: int | None = None,
                      limit: int = 50, offset: int = 0) -> list[OrderSummary]:
    conditions: list[object] = [Order.buyer_id == actor.user_id]
    if checkout_id is not None:
        conditions.append(Order.checkout_id == checkout_id)
    with db.read() as session:
        return _listing(session, *conditions, limit=limit, offset=offset)


def list_shop_orders(db: Database, actor: Actor, shop_id: int,
                     status: OrderStatus | None = None, limit: int = 50, offset: int = 0
                     ) -> list[OrderSummary]:
    with db.read() as session:
        owned_shop(session, actor, shop_id)
        conditions: list[object] = [Order.shop_id == shop_id]
        if status is not None:
            conditions.append(Order.status == status.value)
        return _listing(session, *conditions, limit=limit, offset=offset)


# --- the seller's work (building blocks of the seller home: the caller's transaction) ---

def to_ship(session: Session, shop_ids: Sequence[int], limit: int
            ) -> tuple[int, list[OrderSummary]]:
    """How many of the shops' orders are paid and wait to be shipped, and the oldest
    ``limit`` of them (first come, first shipped)."""
    waiting = (Order.shop_id.in_(shop_ids), Order.status == OrderStatus.PAID.value)
    count = session.scalar(select(func.count()).select_from(Order).where(*waiting)) or 0
    rows = session.execute(
        select(Order, Shop.name, User.display_name)
        .join(Shop, Shop.id == Order.shop_id).join(User, User.id == Order.buyer_id)
        .where(*waiting).order_by(Order.paid_at, Order.id).limit(limit)).all()
    return count, _summaries(session, [(row[0], row[1], row[2]) for row in rows])


@dataclass(frozen=True)
class ReturnToDecide:
    id: int
    order_id: int
    order_number: str
    shop_name: str
    buyer_name: str
    reason: str
    created_at: datetime


def returns_to_decide(session: Session, shop_ids: Sequence[int], limit: int
                      ) -> tuple[int, list[ReturnToDecide]]:
    """Return requests of the shops that nobody has approved or rejected yet, oldest first."""
    open_ = (Order.shop_id.in_(shop_ids), ReturnRequest.status == "requested")
    count = session.scalar(select(func.count()).select_from(ReturnRequest).join(
        Order, Order.id == ReturnRequest.order_id).where(*open_)) or 0
    rows = session.execute(
        select(ReturnRequest, Order.number, Shop.name, User.display_name)
        .join(Order, Order.id == ReturnRequest.order_id)
        .join(Shop, Shop.id == Order.shop_id).join(User, User.id == ReturnRequest.buyer_id)
        .where(*open_).order_by(ReturnRequest.created_at, ReturnRequest.id).limit(limit)).all()
    return count, [ReturnToDecide(request.id, request.order_id, number, shop_name, buyer,
                                  request.reason, request.created_at)
                   for request, number, shop_name, buyer in rows]


def sales_since(session: Session, shop_ids: Sequence[int], since: datetime
                ) -> dict[str, tuple[int, int]]:
    """Currency -> (orders, amount in minor units) of the shops' orders paid since ``since``,
    less what was refunded on them; an order refunded in full is no sale. Each currency on its
    own: amounts in different currencies are never added."""
    kept = case((Order.refunded_amount < Order.total, 1), else_=0)
    rows = session.execute(
        select(Order.currency, func.sum(kept), func.sum(Order.total - Order.refunded_amount))
        .where(Order.shop_id.in_(shop_ids), Order.paid_at.is_not(None),
               Order.paid_at >= since)
        .group_by(Order.currency).order_by(Order.currency)).all()
    return {currency: (int(orders), int(amount or 0)) for currency, orders, amount in rows}


def _actions(access: Access, returns: list[ReturnRequest], now: datetime) -> list[str]:
    order, status = access.order, OrderStatus(access.order.status)
    actions: list[str] = []
    if (access.is_buyer and status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)) or (
        access.is_seller and status is OrderStatus.PAID
    ):
        actions.append("cancel")
    if access.is_buyer and not any(r.status in ("requested", "approved") for r in returns):
        try:
            ensure_return_allowed(status, MARKETS[order.market], order.delivered_at, now)
            actions.append("request_return")
        except DomainError:
            pass
    if access.is_seller:
        if can_transition(status, OrderStatus.SHIPPED):
            actions.append("ship")
        if can_transition(status, OrderStatus.DELIVERED):
            actions.append("deliver")
        if status in REFUNDABLE:
            actions.append("refund")
        if any(r.status == "requested" for r in returns):
            actions.append("review_returns")
    return actions


def _return_view(request: ReturnRequest, order: Order, refunds: Sequence[Refund] = ()
                 ) -> ReturnView:
    return ReturnView(id=request.id, order_id=order.id, order_number=order.number,
                      buyer_id=request.buyer_id, reason=request.reason, status=request.status,
                      created_at=request.created_at,
                      refunded=sum(refund.amount for refund in refunds
                                   if refund.created_at >= request.created_at))


def _refund_view(refund: Refund, order: Order) -> RefundView:
    return RefundView(id=refund.id, order_id=order.id, amount=refund.amount,
                      currency=order.currency, provider_ref=refund.provider_ref,
                      created_at=refund.created_at)


def _detail(session: Session, access: Access) -> OrderDetail:
    session.flush()
    order = access.order
    buyer_name = session.scalar(select(User.display_name).where(User.id == order.buyer_id))
    events = session.execute(
        select(OrderEvent, User.display_name)
        .outerjoin(User, User.id == OrderEvent.actor_id)
        .where(OrderEvent.order_id == order.id)
        .order_by(OrderEvent.created_at, OrderEvent.id)
    ).all()
    returns = list(session.scalars(
        select(ReturnRequest).where(ReturnRequest.order_id == order.id)
        .order_by(ReturnRequest.id)
    ))
    refunds = session.scalars(
        select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)
    ).all()
    summary = _summaries(session, [(order, access.shop.name, buyer_name or "")])[0]
    pictures = catalog.variant_pictures(session, [line.variant_id for line in order.lines])
    return OrderDetail(
        **summary.model_dump(),
        tax_inclusive=order.tax_inclusive, subtotal=order.subtotal, shipping=order.shipping,
        discount=order.discount,
        tax=order.tax, ship_to=order.ship_to, carrier=order.carrier,
        tracking_number=order.tracking_number, paid_at=order.paid_at,
        shipped_at=order.shipped_at, delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        return_deadline=return_deadline(MARKETS[order.market], order.delivered_at),
        lines=[OrderLineView.model_validate(line).model_copy(
            update={"image_url": pictures.get(line.variant_id)}) for line in order.lines],
        events=[
            OrderEventView(from_status=event.from_status, to_status=event.to_status,
                           actor_id=event.actor_id, actor_name=name, note=event.note,
                           created_at=event.created_at)
            for event, name in events
        ],
        returns=[_return_view(r, order, refunds) for r in returns],
        refunds=[_refund_view(r, order) for r in refunds],
        commissions=commission.order_commissions(session, order) if access.is_seller else [],
        actions=_actions(access, returns, utcnow()),
    )


def get_order(db: Database, actor: Actor, order_id: int, *, as_seller: bool = False
              ) -> OrderDetail:
    """``as_seller`` is for the fulfilment page: the buyer alone may not open it."""
    with db.read() as session:
        access = _access(session, actor, order_id)
        if as_seller:
            access.require_seller("manage this order")
        return _detail(session, access)


def shop_name(db: Database, actor: Actor, shop_id: int) -> str:
    with db.read() as session:
        return owned_shop(session, actor, shop_id).name


# --- fulfilment ---

def ship(db: Database, actor: Actor, order_id: int, data: ShipIn) -> OrderDetail:
    with db.transaction() as session:
        access = _access(session, actor, order_id, lock=True)
        access.require_seller("mark an order shipped")
        ensure_transition(access.order.status, OrderStatus.SHIPPED)
        access.order.carrier = data.carrier
        access.order.tracking_number = data.tracking_number
        order = access.order
        transition(session, order, OrderStatus.SHIPPED, actor.user_id,
                   note=f"{data.carrier} {data.tracking_number}")
        record(session, OrderShipped(order_id=order.id, number=order.number,
                                     buyer_id=order.buyer_id, shop_id=order.shop_id,
                                     carrier=data.carrier,
                                     tracking_number=data.tracking_number))
        return _detail(session, access)


def deliver(db: Database, actor: Actor, order_id: int) -> OrderDetail:
    with db.transaction() as session:
        access = _access(session, actor, order_id, lock=True)
        access.require_seller("mark an order delivered")
        order = access.order
        transition(session, order, OrderStatus.DELIVERED, actor.user_id)
        record(session, OrderDelivered(order_id=order.id, number=order.number,
                                       buyer_id=order.buyer_id, shop_id=order.shop_id))
        return _detail(session, access)


def cancel(db: Database, payments: PaymentProvider, actor: Actor, order_id: int,
           data: CancelIn | None = None) -> OrderDetail:
    """Buyer: while pending_payment or paid. Seller: while paid.

    A paid order is refunded in full and its units go back to stock; an unpaid one just
    lets go of its reservations.
    """
    reason = data.reason if data else ""
    with db.transaction() as session:
        access = _access(session, actor, order_id, lock=True)
        order, status = access.order, OrderStatus(access.order.status)
        ensure_transition(status, OrderStatus.CANCELLED)
        if not access.is_buyer and status is not OrderStatus.PAID:
            raise Forbidden("Only the buyer can cancel an order that is not paid yet")
        if status is OrderStatus.PAID:
            plan = plan_refund(_line_states(order), None, total=order.total,
                               refunded_amount=order.refunded_amount)
            _apply_refund(session, payments, actor, order, plan,
                          provider_key=f"order-cancel:{order.id}", note="cancelled")
        else:
            for line in order.lines:
                if line.reservation_id is not None:
                    inventory.release(session, line.reservation_id,
                                      note=f"order {order.number} cancelled")
        transition(session, order, OrderStatus.CANCELLED, actor.user_id, note=reason)
        return _detail(session, access)


# --- refunds ---

def _line_states(order: Order) -> list[LineState]:
    return [
        LineState(line.id, f"{line.product_title} {line.variant_title}".strip(), line.quantity,
                  line.refunded_quantity, line.unit_price, line.line_total, line.discount)
        for line in order.lines
    ]


def _apply_refund(session: Session, payments: PaymentProvider, actor: Actor, order: Order,
                  plan: RefundPlan, *, provider_key: str, note: str) -> Refund:
    """Stock, line counters, order and payment totals, the provider refund and its row."""
    if plan.amount <= 0:
        raise Conflict("Nothing is left to refund on this order", code="nothing_to_refund")
    payment = succeeded_payment(session, order.checkout_id)
    lines = {line.id: line for line in order.lines}
    refunded_before = {line.id: line.refunded_quantity for line in order.lines}
    for line_id, quantity in plan.quantities.items():
        line = lines[line_id]
        inventory.restock(session, line.variant_id, quantity, order.id,
                          note=f"{note} {order.number}")
        line.refunded_quantity += quantity
    refund = refund_payment(session, payments, payment, order.id, plan.amount,
                            idempotency_key=provider_key)
    order.refunded_amount += plan.amount
    record(session, OrderRefunded(
        refund_id=refund.id, order_id=order.id, number=order.number, buyer_id=order.buyer_id,
        shop_id=order.shop_id, currency=order.currency, amount=plan.amount,
        in_full=order.refunded_amount >= order.total))
    session.flush()
    commission.book_refund(session, order, refund.id, refunded_before, plan.quantities,
                           with_shipping=plan.completes)
    return refund


def _requested_quantities(data: RefundIn) -> dict[int, int] | None:
    if data.full and data.lines:
        raise InvalidInput("Send either lines or full, not both", field="full")
    if data.full:
        return None
    if not data.lines:
        raise InvalidInput("Choose at least one line to refund, or full: true", field="lines")
    quantities: dict[int, int] = {}
    for position, line in enumerate(data.lines):
        if line.line_id in quantities:
            raise InvalidInput(f"Line {line.line_id} is listed twice",
                               field=f"lines.{position}.line_id")
        quantities[line.line_id] = line.quantity
    return quantities


def refund_in(session: Session, payments: PaymentProvider, actor: Actor, order_id: int,
              data: RefundIn, request_key: str) -> RefundResult:
    access = _access(session, actor, order_id, lock=True)
    access.require_seller("refund an order")
    order = access.order
    ensure_transition(order.status, OrderStatus.REFUNDED)
    plan = plan_refund(_line_states(order), _requested_quantities(data), total=order.total,
                       refunded_amount=order.refunded_amount)
    refund = _apply_refund(
        session, payments, actor, order, plan,
        provider_key=f"order-refund:{order.id}:{actor.user_id}:{request_key}", note="refund",
    )
    amount = MARKETS[order.market].format(plan.amount)
    text = f"Refunded {amount}" + (f": {data.note}" if data.note else "")
    if plan.completes:
        transition(session, order, OrderStatus.REFUNDED, actor.user_id, note=text)
    else:
        units = sum(plan.quantities.values())
        _note(session, order, actor.user_id, f"{text} for {units} item(s)")
    return RefundResult(refund=_refund_view(refund, order), order=_detail(session, access))


def refund(db: Database, payments: PaymentProvider, settings: Settings, actor: Actor,
           order_id: int, data: RefundIn, idempotency_key: str | None) -> StoredResponse:
    """Refund once per Idempotency-Key: a retry returns the first result, not a 2nd refund."""
    return run_once(
        db, user_id=actor.user_id, key=idempotency_key or "",
        abandoned_seconds=settings.idempotency_abandoned_seconds,
        request_fingerprint=fingerprint("order_refund", {"order_id": order_id,
                                                         **data.model_dump()}),
        operation=lambda session: (
            201,
            refund_in(session, payments, actor, order_id, data,
                      (idempotency_key or "").strip()).model_dump(mode="json"),
        ),
    )


# --- returns ---

def request_return(db: Database, actor: Actor, order_id: int, data: ReturnIn,
                   now: datetime | None = None) -> OrderDetail:
    with db.transaction() as session:
        access = _access(session, actor, order_id, lock=True)
        access.require_buyer("request a return")
        order = access.order
        ensure_return_allowed(order.status, MARKETS[order.market], order.delivered_at,
                              now or utcnow())
        open_request = session.scalar(
            select(func.count()).select_from(ReturnRequest)
            .where(ReturnRequest.order_id == order.id,
                   ReturnRequest.status.in_(("requested", "approved")))
        )
        if open_request:
            raise Conflict("A return has already been requested for this order",
                           code="return_exists")
        request = ReturnRequest(order_id=order.id, buyer_id=actor.user_id,
                                reason=data.reason, status="requested")
        session.add(request)
        session.flush()
        _note(session, order, actor.user_id, f"Return requested: {data.reason}")
        record(session, ReturnRequested(return_id=request.id, order_id=order.id,
                                        number=order.number, buyer_id=order.buyer_id,
                                        shop_id=order.shop_id, reason=data.reason))
        return _detail(session, access)


def list_shop_returns(db: Database, actor: Actor, shop_id: int, status: str | None = None
                      ) -> list[ReturnView]:
    with db.read() as session:
        owned_shop(session, actor, shop_id)
        query = (select(ReturnRequest, Order).join(Order, Order.id == ReturnRequest.order_id)
                 .where(Order.shop_id == shop_id)
                 .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc()))
        if status is not None:
            query = query.where(ReturnRequest.status == status)
        return [_return_view(request, order) for request, order in session.execute(query).all()]


def decide_return(db: Database, actor: Actor, return_id: int, approve: bool) -> ReturnView:
    """Approving does not move money: the seller refunds the returned items afterwards."""
    with db.transaction() as session:
        request = session.get(ReturnRequest, return_id)
        if request is None:
            raise NotFound("No such return request", field="return_id")
        try:
            access = _access(session, actor, request.order_id, lock=True)
        except NotFound:
            raise NotFound("No such return request", field="return_id") from None
        access.require_seller("decide on a return")
        if request.status != "requested":
            raise Conflict(f"This return was already {request.status}", code="return_decided")
        request.status = "approved" if approve else "rejected"
        _note(session, access.order, actor.user_id,
              "Return approved; a refund follows once the items are back" if approve
              else "Return rejected")
        return _return_view(request, access.order)
