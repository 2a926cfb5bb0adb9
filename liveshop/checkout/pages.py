"""Cart and checkout pages. They call the same services as the API."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import RedirectResponse, Response

from liveshop.accounts import service as accounts
from liveshop.accounts.model import Actor
from liveshop.catalog import service as catalog
from liveshop.checkout import carts, model, saved_cards, service
from liveshop.checkout.schemas import CardIn, CheckoutIn, PayIn, ShippingAddress
from liveshop.core.errors import DomainError, InvalidInput
from liveshop.incentives import service as incentives
from liveshop.markets.model import Market
from liveshop.web.deps import (
    Context,
    CurrentActor,
    CurrentMarket,
    FormCsrf,
    MaybeActor,
    context_of,
    market_of,
)
from liveshop.web.templating import add_page_context, render

router = APIRouter()
log = logging.getLogger(__name__)


def cart_badge(request: Request) -> dict[str, Any]:
    """The units in the signed-in buyer's cart, for the header of every page. A page that
    cannot read it (the database is away: an error page) shows no badge rather than fail."""
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        return {"cart_units": 0}
    try:
        units = carts.cart_units(context_of(request).db, actor.user_id,
                                 market_of(request).code)
    except SQLAlchemyError:
        log.warning("cart badge left out: the database did not answer")
        units = 0
    return {"cart_units": units}


add_page_context(cart_badge)

ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "postcode", "region", "country")


def _cart_page(request: Request, context: Context, actor: Actor, market: Market, *,
               status_code: int = 200, error: str | None = None) -> Response:
    cart = carts.get_cart(context.db, actor, market)
    return render(request, "checkout/cart.html", status_code=status_code, cart=cart,
                  error=error,
                  offers=incentives.offers_in(context.db, market.code) if cart.shops else [])


def _int_field(value: str, field: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput("Enter a whole number", field=field) from None


def _validation_error(error: ValidationError, prefix: str) -> InvalidInput:
    first = error.errors()[0]
    field = ".".join([prefix, *(str(part) for part in first["loc"])])
    label = str(first["loc"][-1]).replace("_", " ") if first["loc"] else prefix
    return InvalidInput(f"{label.capitalize()}: {first['msg']}", field=field)


@router.post("/cart/items", dependencies=[FormCsrf])
def add_to_cart(request: Request, context: Context, actor: MaybeActor, market: CurrentMarket,
                variant_id: Annotated[str, Form()] = "",
                quantity: Annotated[str, Form()] = "1") -> Response:
    if actor is None:
        # Back to the product after logging in: /cart/items itself only takes POSTs.
        product_id = None
        if variant_id.strip().isdigit():
            product_id = catalog.product_of_variant(context.db, int(variant_id))
        target = f"/products/{product_id}" if product_id else "/cart"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    try:
        carts.add_item(context.db, context.settings, actor, market,
                       _int_field(variant_id, "variant_id"), _int_field(quantity, "quantity"))
    except DomainError as error:
        return _cart_page(request, context, actor, market, status_code=error.status,
                          error=error.message)
    return RedirectResponse("/cart", status_code=303)


@router.get("/cart")
def cart_page(request: Request, context: Context, actor: CurrentActor,
              market: CurrentMarket) -> Response:
    return _cart_page(request, context, actor, market)


@router.post("/cart/items/{item_id}", dependencies=[FormCsrf])
def update_cart_item(request: Request, item_id: int, context: Context, actor: CurrentActor,
                     market: CurrentMarket, quantity: Annotated[str, Form()] = "") -> Response:
    try:
        carts.update_item(context.db, context.settings, actor, market, item_id,
                          _int_field(quantity, "quantity"))
    except DomainError as error:
        return _cart_page(request, context, actor, market, status_code=error.status,
                          error=error.message)
    return RedirectResponse("/cart", status_code=303)


@router.post("/cart/items/{item_id}/remove", dependencies=[FormCsrf])
def remove_cart_item(item_id: int, context: Context, actor: CurrentActor,
                     market: CurrentMarket) -> Response:
    carts.remove_item(context.db, actor, market, item_id)
    return RedirectResponse("/cart", status_code=303)


def _checkout_page(request: Request, context: Context, actor: Actor, market: Market, *,
                   form: dict[str, str] | None = None, error: DomainError | None = None
                   ) -> Response:
    cart = carts.get_cart(context.db, actor, market)
    if not cart.shops:
        return RedirectResponse("/cart", status_code=303)
    countries = model.countries_of(market)
    addresses = [a for a in accounts.list_addresses(context.db, actor) if a.country in countries]
    cards = saved_cards.list_payment_methods(context.db, actor)
    return render(
        request, "checkout/checkout.html", status_code=error.status if error else 200,
        cart=cart, addresses=addresses, cards=cards, countries=countries,
        test_payments=context.payments.name == "test",
        form=form or {}, error=error, offers=incentives.offers_in(context.db, market.code),
        # A fresh key per render: resubmitting this very form replays its result instead
        # of ordering twice, while a new attempt after an error gets a new key.
        idempotency_key=secrets.token_urlsafe(24),
    )


@router.get("/checkout")
def checkout_page(request: Request, context: Context, actor: CurrentActor,
                  market: CurrentMarket) -> Response:
    return _checkout_page(request, context, actor, market)


def _checkout_input(form: dict[str, str]) -> CheckoutIn:
    # Typed-in details win over a pre-selected saved address, so the form works without JS.
    voucher_code = form["voucher_code"].strip() or None
    if form["address_id"] not in ("", "new") and not form["line1"].strip():
        return CheckoutIn(address_id=_int_field(form["address_id"], "address_id"),
                          voucher_code=voucher_code)
    try:
        address = ShippingAddress(**{name: form[name] for name in ADDRESS_FIELDS})
    except ValidationError as error:
        raise _validation_error(error, "address") from None
    return CheckoutIn(address=address, save_address=form["save_address"] == "on",
                      voucher_code=voucher_code)


def _pay_input(form: dict[str, str], card_number: str, cvc: str) -> PayIn:
    if form["payment_method_id"] not in ("", "new") and not card_number.strip():
        return PayIn(payment_method_id=_int_field(form["payment_method_id"],
                                                  "payment_method_id"))
    try:
        card = CardIn(number=card_number.replace(" ", ""),
                      exp_month=_int_field(form["exp_month"], "card.exp_month"),
                      exp_year=_int_field(form["exp_year"], "card.exp_year"), cvc=cvc.strip())
    except ValidationError as error:
        raise _validation_error(error, "card") from None
    return PayIn(card=card, save_card=form["save_card"] == "on")


@router.post("/checkout", dependencies=[FormCsrf])
def checkout_submit(
    request: Request, context: Context, actor: CurrentActor, market: CurrentMarket,
    idempotency_key: Annotated[str, Form()] = "",
    address_id: Annotated[str, Form()] = "", full_name: Annotated[str, Form()] = "",
    line1: Annotated[str, Form()] = "", line2: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "", postcode: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "", save_address: Annotated[str, Form()] = "",
    payment_method_id: Annotated[str, Form()] = "", card_number: Annotated[str, Form()] = "",
    exp_month: Annotated[str, Form()] = "", exp_year: Annotated[str, Form()] = "",
    cvc: Annotated[str, Form()] = "", save_card: Annotated[str, Form()] = "",
    voucher_code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    # Card number and CVC are deliberately not echoed back into the re-rendered form.
    form: dict[str, Any] = {
        "address_id": address_id, "full_name": full_name, "line1": line1, "line2": line2,
        "city": city, "postcode": postcode, "region": region, "country": country,
        "save_address": save_address,
        "payment_method_id": payment_method_id, "exp_month": exp_month,
        "exp_year": exp_year, "save_card": save_card, "voucher_code": voucher_code,
    }
    checkout_id: int | None = None
    try:
        checkout_data = _checkout_input(form)
        pay_data = _pay_input(form, card_number, cvc)
        # The form's one key covers both steps, each stored in a scope of its own.
        created = service.checkout_result(service.create_checkout(
            context.db, context.settings, actor, market, checkout_data, idempotency_key,
            scope=service.CHECKOUT_STEP))
        checkout_id = created.id
        paid = service.checkout_result(service.pay_checkout(
            context.db, context.payments, context.settings, actor, created.id, pay_data,
            idempotency_key, scope=service.PAYMENT_STEP))
    except DomainError as error:
        if checkout_id is not None and error.code != "idempotency_key_in_use":
            # The buyer will submit again with a new key, so free this attempt's stock now.
            service.cancel_checkout(context.db, actor, checkout_id, note="payment failed")
        return _checkout_page(request, context, actor, market, form=form, error=error)
    return RedirectResponse(f"/orders?checkout={paid.id}", status_code=303)
