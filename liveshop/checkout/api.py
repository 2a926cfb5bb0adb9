"""Cart, checkout, payment and saved-card API. Retryable writes take an Idempotency-Key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import JSONResponse, Response

from liveshop.checkout import carts, one_tap, saved_cards, service
from liveshop.checkout.one_tap import count_one_tap_buy
from liveshop.checkout.schemas import (
    BuyNowIn,
    CartItemIn,
    CartItemUpdate,
    CartView,
    CheckoutIn,
    CheckoutView,
    OneTapQuoteView,
    PayIn,
    PaymentMethodIn,
    PaymentMethodView,
    Quantity,
)
from liveshop.core.idempotency import StoredResponse
from liveshop.core.inputs import Id, MinorUnits
from liveshop.markets.model import MarketCode, get_market
from liveshop.web.deps import Context, CurrentActor, CurrentMarket, IdempotencyKey
from liveshop.web.errors import ErrorBody

router = APIRouter(tags=["checkout"])

PAYMENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    402: {"model": ErrorBody,
          "description": "Card declined (code card_declined / insufficient_funds, field card)"},
    409: {"model": ErrorBody, "description": (
        "Out of stock, checkout expired or closed; a voucher's budget used up or its per-buyer "
        "limit reached (field voucher_code)")},
    422: {"model": ErrorBody, "description": (
        "Invalid input, missing or reused Idempotency-Key; an unknown, expired or "
        "wrong-market voucher code or a basket under its minimum (field voucher_code)")},
}


def stored_json(stored: StoredResponse) -> Response:
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


async def limit_buying(actor: CurrentActor, context: Context) -> None:
    """One-tap purchases count against the buyer's buy rate limit, as room taps do."""
    await count_one_tap_buy(context.limiter, actor)


@router.get("/cart", response_model=CartView)
def get_cart(actor: CurrentActor, market: CurrentMarket, context: Context) -> CartView:
    return carts.get_cart(context.db, actor, market)


@router.post("/cart/items", status_code=201, response_model=CartView)
def add_cart_item(data: CartItemIn, actor: CurrentActor, market: CurrentMarket,
                  context: Context) -> CartView:
    return carts.add_item(context.db, context.settings, actor, market, data.variant_id,
                          data.quantity)


@router.patch("/cart/items/{item_id}", response_model=CartView)
def update_cart_item(item_id: Id, data: CartItemUpdate, actor: CurrentActor,
                     market: CurrentMarket, context: Context) -> CartView:
    return carts.update_item(context.db, context.settings, actor, market, item_id, data.quantity)


@router.delete("/cart/items/{item_id}", response_model=CartView)
def remove_cart_item(item_id: Id, actor: CurrentActor, market: CurrentMarket,
                     context: Context) -> CartView:
    return carts.remove_item(context.db, actor, market, item_id)


@router.post("/checkouts", status_code=201, response_model=CheckoutView,
             responses=PAYMENT_RESPONSES)
def create_checkout(data: CheckoutIn, actor: CurrentActor, market: CurrentMarket,
                    context: Context, idempotency_key: IdempotencyKey) -> Response:
    return stored_json(service.create_checkout(context.db, context.settings, actor, market,
                                               data, idempotency_key))


@router.get("/checkouts/{checkout_id}", response_model=CheckoutView)
def get_checkout(checkout_id: Id, actor: CurrentActor, context: Context) -> CheckoutView:
    return service.get_checkout(context.db, actor, checkout_id)


@router.post("/checkouts/{checkout_id}/pay", response_model=CheckoutView,
             responses=PAYMENT_RESPONSES)
def pay_checkout(checkout_id: Id, data: PayIn, actor: CurrentActor, context: Context,
                 idempotency_key: IdempotencyKey) -> Response:
    return stored_json(service.pay_checkout(context.db, context.payments, context.settings,
                                            actor, checkout_id, data, idempotency_key))


@router.post("/buy-now", response_model=CheckoutView, responses=PAYMENT_RESPONSES,
             dependencies=[Depends(limit_buying)])
def buy_now(data: BuyNowIn, actor: CurrentActor, market: CurrentMarket, context: Context,
            idempotency_key: IdempotencyKey) -> CheckoutView:
    return one_tap.buy_now(context.db, context.payments, context.settings, actor,
                           data.variant_id, data.quantity, market, idempotency_key)


# The same price asked again and again by a viewer's page: the browser may keep it a minute.
# Private, never a shared cache's: without ``market`` the answer follows the visitor's
# session (no Vary can say so), and a session's answers may carry its Set-Cookie.
QUOTE_CACHE = "private, max-age=60"


@router.get("/buy-now/quote", response_model=OneTapQuoteView,
            responses={422: {"model": ErrorBody, "description": (
                "Invalid input, or the shop does not ship to the market (field market)")}})
def quote_buy_now(shop_id: Annotated[Id, Query()],
                  unit_price: Annotated[MinorUnits, Query(description=(
                      "The unit price shown (a sale price in a live room), minor units"))],
                  market: CurrentMarket, context: Context, response: Response,
                  quantity: Annotated[Quantity, Query()] = 1,
                  market_code: Annotated[MarketCode | None, Query(
                      alias="market",
                      description="Market code; defaults to the visitor's market")] = None,
                  ) -> OneTapQuoteView:
    """What a one-tap purchase at this price charges, shipping and tax included, priced as
    the purchase will be: the live room and replay show it before the tap."""
    chosen = get_market(market_code, field="market") if market_code else market
    response.headers["Cache-Control"] = QUOTE_CACHE
    return one_tap.quote(context.db, shop_id, chosen, unit_price, quantity)


@router.post("/payment-methods", status_code=201, response_model=PaymentMethodView)
def add_payment_method(data: PaymentMethodIn, actor: CurrentActor, context: Context
                       ) -> PaymentMethodView:
    return saved_cards.add_payment_method(context.db, context.payments, actor, data)


@router.get("/payment-methods", response_model=list[PaymentMethodView])
def list_payment_methods(actor: CurrentActor, context: Context) -> list[PaymentMethodView]:
    return saved_cards.list_payment_methods(context.db, actor)


@router.delete("/payment-methods/{method_id}", status_code=204)
def delete_payment_method(method_id: Id, actor: CurrentActor, context: Context) -> None:
    saved_cards.delete_payment_method(context.db, actor, method_id)
