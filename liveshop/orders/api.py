"""Order API: order history, fulfilment, cancellation, refunds and returns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import JSONResponse

from liveshop.core.inputs import MAX_INTEGER, Id
from liveshop.orders import commission, service
from liveshop.orders.model import OrderStatus
from liveshop.orders.schemas import (
    CancelIn,
    Earnings,
    OrderDetail,
    OrderSummary,
    RefundIn,
    RefundResult,
    ReturnIn,
    ReturnView,
    ShipIn,
)
from liveshop.payouts import service as payouts
from liveshop.web.deps import Context, CurrentActor, IdempotencyKey

router = APIRouter(tags=["orders"])

Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=MAX_INTEGER)]


@router.get("/orders", response_model=list[OrderSummary])
def my_orders(actor: CurrentActor, context: Context, checkout_id: Id | None = None,
              limit: Limit = 50, offset: Offset = 0) -> list[OrderSummary]:
    """The buyer's own orders, newest first."""
    return service.list_buyer_orders(context.db, actor, checkout_id, limit, offset)


@router.get("/me/earnings", response_model=Earnings)
def my_earnings(actor: CurrentActor, context: Context) -> Earnings:
    """The caller's own commission as a creator, per order line, from the books."""
    return commission.earnings(context.db, actor, payouts.policy_of(context.settings))


@router.get("/orders/{order_id}", response_model=OrderDetail)
def order_detail(order_id: Id, actor: CurrentActor, context: Context) -> OrderDetail:
    return service.get_order(context.db, actor, order_id)


@router.get("/shops/{shop_id}/orders", response_model=list[OrderSummary])
def shop_orders(shop_id: Id, actor: CurrentActor, context: Context,
                status: OrderStatus | None = None, limit: Limit = 50, offset: Offset = 0
                ) -> list[OrderSummary]:
    return service.list_shop_orders(context.db, actor, shop_id, status, limit, offset)


@router.post("/orders/{order_id}/ship", response_model=OrderDetail)
def ship(order_id: Id, data: ShipIn, actor: CurrentActor, context: Context) -> OrderDetail:
    return service.ship(context.db, actor, order_id, data)


@router.post("/orders/{order_id}/deliver", response_model=OrderDetail)
def deliver(order_id: Id, actor: CurrentActor, context: Context) -> OrderDetail:
    return service.deliver(context.db, actor, order_id)


@router.post("/orders/{order_id}/cancel", response_model=OrderDetail)
def cancel(order_id: Id, actor: CurrentActor, context: Context,
           data: CancelIn | None = None) -> OrderDetail:
    return service.cancel(context.db, context.payments, actor, order_id, data)


@router.post("/orders/{order_id}/refunds", status_code=201, response_model=RefundResult)
def refund(order_id: Id, data: RefundIn, actor: CurrentActor, context: Context,
           idempotency_key: IdempotencyKey) -> JSONResponse:
    """Partial (per line) or full refund."""
    stored = service.refund(context.db, context.payments, context.settings, actor, order_id,
                            data, idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


@router.post("/orders/{order_id}/returns", status_code=201, response_model=OrderDetail)
def request_return(order_id: Id, data: ReturnIn, actor: CurrentActor,
                   context: Context) -> OrderDetail:
    return service.request_return(context.db, actor, order_id, data)


@router.get("/shops/{shop_id}/returns", response_model=list[ReturnView])
def shop_returns(shop_id: Id, actor: CurrentActor, context: Context,
                 status: Annotated[str | None, Query(pattern="^(requested|approved|rejected)$")]
                 = None) -> list[ReturnView]:
    return service.list_shop_returns(context.db, actor, shop_id, status)


@router.post("/returns/{return_id}/approve", response_model=ReturnView)
def approve_return(return_id: Id, actor: CurrentActor, context: Context) -> ReturnView:
    """Accepts the return. Money moves only when the seller then refunds the items."""
    return service.decide_return(context.db, actor, return_id, approve=True)


@router.post("/returns/{return_id}/reject", response_model=ReturnView)
def reject_return(return_id: Id, actor: CurrentActor, context: Context) -> ReturnView:
    return service.decide_return(context.db, actor, return_id, approve=False)
