"""Order pages: the buyer's history and order page, the seller's order list and fulfilment
page. Every form posts here and redirects back (post/redirect/get); a refused action
re-renders the page with the reason instead of an error page."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from liveshop.accounts.model import Actor
from liveshop.core.errors import DomainError, InvalidInput
from liveshop.creators.schemas import CreatorCard
from liveshop.creators.storefront import creator_cards
from liveshop.markets.model import MARKETS
from liveshop.orders import commission, service
from liveshop.orders.model import OrderStatus
from liveshop.orders.schemas import (
    CancelIn,
    OrderLineView,
    RefundIn,
    RefundLineIn,
    ReturnIn,
    ShipIn,
)
from liveshop.payouts import service as payouts
from liveshop.web.deps import Context, CurrentActor, FormCsrf
from liveshop.web.templating import render

router = APIRouter()

PAGE_SIZE = 50
STATUSES = frozenset(status.value for status in OrderStatus)
LOCALES = {code: market.locale for code, market in MARKETS.items()}
# A currency's amounts in the locale of the first market that uses it.
CURRENCY_LOCALE = {market.currency: market.locale for market in reversed(MARKETS.values())}
# Messages after a successful form post, chosen by a fixed key so no text comes from the URL.
DONE = {
    "cancelled": "The order was cancelled. Anything paid is being refunded to the card.",
    "return_requested": "Your return request was sent to the seller.",
    "shipped": "Marked as shipped. The buyer can now see the carrier and tracking number.",
    "delivered": "Marked as delivered.",
    "refunded": "Refund issued to the buyer's card.",
    "return_approved": "Return approved. Approving does not refund by itself: refund the "
                       "returned items below once they are back.",
    "return_rejected": "Return rejected.",
}


def _validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]).replace("_", " ").capitalize()
    if first["type"] in ("missing", "string_too_short"):
        return f"{field} is required"
    return f"{field}: {first['msg']}"


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(_validation_message(error)) from None


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def _redirect(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


# --- creator ---

@router.get("/creators/earnings")
def creator_earnings(request: Request, actor: CurrentActor, context: Context) -> Response:
    """The creator's commission per order line (anyone signed in sees their own: a buyer
    who never hosted sees none)."""
    return render(request, "orders/earnings.html",
                  earnings=commission.earnings(context.db, actor,
                                               payouts.policy_of(context.settings)),
                  statements=payouts.creator_statements(context.db, actor), locales=LOCALES,
                  currency_locale=CURRENCY_LOCALE)


# --- buyer ---

@router.get("/orders")
def buyer_orders(request: Request, actor: CurrentActor, context: Context,
                 checkout: int | None = None, page: int = 1) -> Response:
    page = max(1, page)
    orders = service.list_buyer_orders(context.db, actor, limit=PAGE_SIZE + 1,
                                       offset=(page - 1) * PAGE_SIZE)
    just_bought = (service.list_buyer_orders(context.db, actor, checkout_id=checkout)
                   if checkout is not None else [])
    # The receipt says whom the buyer bought through ("via Nina Live").
    bought_lines = [line for o in just_bought
                    for line in service.get_order(context.db, actor, o.id).lines]
    return render(
        request, "orders/list.html", orders=orders[:PAGE_SIZE], page=page,
        has_more=len(orders) > PAGE_SIZE, locales=LOCALES,
        paid_now=[o for o in just_bought if o.status is not OrderStatus.PENDING_PAYMENT],
        waiting=[o for o in just_bought if o.status is OrderStatus.PENDING_PAYMENT],
        via=list(_via(context, bought_lines).values()),
    )


def _via(context: Context, lines: list[OrderLineView]) -> dict[int, CreatorCard]:
    """Creator id -> the creator the lines were bought through."""
    return creator_cards(context.db, {line.creator_id for line in lines if line.creator_id})


def _buyer_page(request: Request, context: Context, actor: Actor, order_id: int, *,
                status_code: int = 200, error: str | None = None, reason: str = ""
                ) -> Response:
    order = service.get_order(context.db, actor, order_id)
    return render(request, "orders/detail.html", status_code=status_code, order=order,
                  via=_via(context, order.lines),
                  locales=LOCALES, market_of=MARKETS[order.market], error=error,
                  notice=None if error else _done(request), reason=reason)


@router.get("/orders/{order_id}")
def buyer_order(request: Request, order_id: int, actor: CurrentActor,
                context: Context) -> Response:
    return _buyer_page(request, context, actor, order_id)


@router.post("/orders/{order_id}/cancel", dependencies=[FormCsrf])
def buyer_cancel(request: Request, order_id: int, actor: CurrentActor, context: Context,
                 reason: Annotated[str, Form()] = "") -> Response:
    try:
        service.cancel(context.db, context.payments, actor, order_id,
                       _validated(CancelIn, {"reason": reason}))
    except DomainError as error:
        return _buyer_page(request, context, actor, order_id, status_code=error.status,
                           error=error.message)
    return _redirect(f"/orders/{order_id}", "cancelled")


@router.post("/orders/{order_id}/returns", dependencies=[FormCsrf])
def buyer_return(request: Request, order_id: int, actor: CurrentActor, context: Context,
                 reason: Annotated[str, Form()] = "") -> Response:
    try:
        data = _validated(ReturnIn, {"reason": reason})
        service.request_return(context.db, actor, order_id, data)
    except DomainError as error:
        return _buyer_page(request, context, actor, order_id, status_code=error.status,
                           error=error.message, reason=reason)
    return _redirect(f"/orders/{order_id}", "return_requested")


# --- seller ---

@router.get("/seller/shops/{shop_id}/orders")
def seller_orders(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                  status: str = "", page: int = 1) -> Response:
    page = max(1, page)
    name = service.shop_name(context.db, actor, shop_id)
    chosen = OrderStatus(status) if status in STATUSES else None
    orders = service.list_shop_orders(context.db, actor, shop_id, chosen,
                                      limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render(request, "orders/seller_list.html", shop_id=shop_id, shop_name=name,
                  orders=orders[:PAGE_SIZE], has_more=len(orders) > PAGE_SIZE, page=page,
                  status=chosen.value if chosen else "", statuses=list(OrderStatus),
                  locales=LOCALES)


def _seller_page(request: Request, context: Context, actor: Actor, order_id: int, *,
                 status_code: int = 200, error: str | None = None,
                 form: dict[str, str] | None = None) -> Response:
    order = service.get_order(context.db, actor, order_id, as_seller=True)
    return render(request, "orders/seller_detail.html", status_code=status_code, order=order,
                  locales=LOCALES, market_of=MARKETS[order.market], error=error,
                  notice=None if error else _done(request), form=form or {},
                  # Fresh keys per rendering: a double-clicked refund runs once.
                  refund_key=uuid.uuid4().hex, full_refund_key=uuid.uuid4().hex)


@router.get("/seller/orders/{order_id}")
def seller_order(request: Request, order_id: int, actor: CurrentActor,
                 context: Context) -> Response:
    return _seller_page(request, context, actor, order_id)


@router.post("/seller/orders/{order_id}/ship", dependencies=[FormCsrf])
def seller_ship(request: Request, order_id: int, actor: CurrentActor, context: Context,
                carrier: Annotated[str, Form()] = "",
                tracking_number: Annotated[str, Form()] = "") -> Response:
    form = {"carrier": carrier, "tracking_number": tracking_number}
    try:
        service.ship(context.db, actor, order_id, _validated(ShipIn, form))
    except DomainError as error:
        return _seller_page(request, context, actor, order_id, status_code=error.status,
                            error=error.message, form=form)
    return _redirect(f"/seller/orders/{order_id}", "shipped")


@router.post("/seller/orders/{order_id}/deliver", dependencies=[FormCsrf])
def seller_deliver(request: Request, order_id: int, actor: CurrentActor,
                   context: Context) -> Response:
    try:
        service.deliver(context.db, actor, order_id)
    except DomainError as error:
        return _seller_page(request, context, actor, order_id, status_code=error.status,
                            error=error.message)
    return _redirect(f"/seller/orders/{order_id}", "delivered")


@router.post("/seller/orders/{order_id}/cancel", dependencies=[FormCsrf])
def seller_cancel(request: Request, order_id: int, actor: CurrentActor,
                  context: Context) -> Response:
    try:
        service.cancel(context.db, context.payments, actor, order_id)
    except DomainError as error:
        return _seller_page(request, context, actor, order_id, status_code=error.status,
                            error=error.message)
    return _redirect(f"/seller/orders/{order_id}", "cancelled")


def _refund_lines(line_ids: list[int], quantities: list[str]) -> list[RefundLineIn]:
    """Pairs the form's repeated line_id/quantity fields, skipping lines left at 0."""
    if len(line_ids) != len(quantities):
        raise InvalidInput("The refund form is incomplete; reload the page and retry")
    lines = []
    for line_id, raw in zip(line_ids, quantities, strict=True):
        text = raw.strip() or "0"
        if not text.isdigit():
            raise InvalidInput(f"Refund quantity for line {line_id} must be a whole number")
        if int(text) > 0:
            lines.append(RefundLineIn(line_id=line_id, quantity=min(int(text), 10_000)))
    return lines


@router.post("/seller/orders/{order_id}/refunds", dependencies=[FormCsrf])
def seller_refund(request: Request, order_id: int, actor: CurrentActor, context: Context,
                  idempotency_key: Annotated[str, Form()] = "",
                  full: Annotated[bool, Form()] = False,
                  line_id: Annotated[list[int] | None, Form()] = None,
                  quantity: Annotated[list[str] | None, Form()] = None) -> Response:
    try:
        lines = [] if full else _refund_lines(line_id or [], quantity or [])
        if not full and not lines:
            raise InvalidInput("Enter a quantity for at least one line to refund")
        service.refund(context.db, context.payments, context.settings, actor, order_id,
                       RefundIn(lines=lines, full=full), idempotency_key)
    except DomainError as error:
        return _seller_page(request, context, actor, order_id, status_code=error.status,
                            error=error.message)
    return _redirect(f"/seller/orders/{order_id}", "refunded")


@router.post("/seller/returns/{return_id}/{decision}", dependencies=[FormCsrf])
def seller_decide_return(request: Request, return_id: int, decision: str,
                         actor: CurrentActor, context: Context,
                         order_id: Annotated[int, Form()]) -> Response:
    try:
        if decision not in ("approve", "reject"):
            raise InvalidInput("Choose approve or reject")
        decided = service.decide_return(context.db, actor, return_id,
                                        approve=decision == "approve")
    except DomainError as error:
        return _seller_page(request, context, actor, order_id, status_code=error.status,
                            error=error.message)
    return _redirect(f"/seller/orders/{decided.order_id}",
                     "return_approved" if decided.status == "approved" else "return_rejected")
