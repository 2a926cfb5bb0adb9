"""Checkout and payment: a cart (or one line, liveshop/checkout/one_tap.py) becomes one
order per shop with its stock reserved, paid with one charge; and the expiry sweep.

Checkout and pay are retryable writes: each runs inside ``run_once`` so a retried request
replays the stored result. Pay also charges the provider with the key ``checkout-{id}``,
so even a crash between charging and committing cannot charge the buyer twice; the
checkout row is locked while paying and flips open -> paid with a conditional UPDATE, so
concurrent payers of one checkout produce exactly one Payment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import Address, User
from liveshop.catalog.orm import Shop
from liveshop.checkout import model
from liveshop.checkout.carts import find_cart, remove_bought_from_cart
from liveshop.checkout.market_variants import (
    VariantInMarket,
    stock_problem,
    units_available,
    variant_in_market,
)
from liveshop.checkout.ordering import order_paid, record_event, unique_order_number
from liveshop.checkout.orm import Checkout
from liveshop.checkout.saved_cards import card_digest, store_card, tokenize
from liveshop.checkout.schemas import (
    CheckoutIn,
    CheckoutView,
    OrderLineSummary,
    OrderSummary,
    PayIn,
    PaymentView,
)
from liveshop.core.config import Settings
from liveshop.core.db import Database, rows_affected, utcnow
from liveshop.core.errors import Conflict, DomainError, InvalidInput, NotFound, PaymentDeclined
from liveshop.core.events import record
from liveshop.core.idempotency import (
    CLIENT_SCOPE,
    StoredResponse,
    error_body,
    fingerprint,
    run_once,
    validate_key,
)
from liveshop.incentives import model as incentive_rules
from liveshop.incentives import service as incentives
from liveshop.inventory import service as inventory
from liveshop.inventory.orm import Reservation
from liveshop.markets.model import MARKETS, Market
from liveshop.orders import service as orders_service
from liveshop.orders.model import OrderStatus
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.orm import Payment, PaymentMethod
from liveshop.payments.provider import PaymentProvider, TokenizedCard

# A purchase in two steps under one client key (one tap, the checkout page) stores each step
# in a scope of its own (liveshop/core/idempotency.py).
CHECKOUT_STEP = "checkout"
PAYMENT_STEP = "pay"


@dataclass(frozen=True)
class WantedLine:
    offer: VariantInMarket
    quantity: int
    field: str  # names the line in errors, e.g. "items.12"
    hold_id: int | None = None  # a flash sale's units, set aside for it (inventory.hold)


def ship_to_address(session: Session, actor: Actor, market: Market, data: CheckoutIn
                    ) -> dict[str, str]:
    if data.address_id is not None:
        saved = session.get(Address, data.address_id)
        if saved is None or saved.user_id != actor.user_id:
            raise NotFound("No such saved address", field="address_id")
        model.check_ship_to_country(market, saved.country, field="address_id")
        return {"full_name": saved.full_name, "line1": saved.line1, "line2": saved.line2,
                "city": saved.city, "postcode": saved.postcode, "region": saved.region,
                "country": saved.country}
    if data.address is None:
        raise InvalidInput("Choose a saved address or enter a shipping address",
                           field="address")
    ship_to = data.address.model_dump()
    ship_to["country"] = model.check_ship_to_country(market, data.address.country)
    if data.save_address:
        # Written here rather than via accounts.save_address so it commits (or not)
        # together with the checkout under the same idempotency key.
        session.execute(update(Address).where(Address.user_id == actor.user_id)
                        .values(is_default=False))
        session.add(Address(user_id=actor.user_id, is_default=True, **ship_to))
    return ship_to


def open_checkout(session: Session, settings: Settings, actor: Actor, market: Market,
                  wanted: list[WantedLine], ship_to: dict[str, str], *, source: str,
                  show_id: int | None = None, creator_id: int | None = None,
                  vouchers: bool = False, voucher_code: str | None = None) -> Checkout:
    """Price the lines into one order per shop and reserve every unit, all or nothing.
    ``vouchers``: a cart checkout, which takes ``voucher_code`` or an automatic discount;
    reserved before the stock, as a cancel releases them, so every transaction locks a
    voucher's row before stock rows and two can never wait on each other."""
    for line in wanted:
        problem = line.offer.problem(market)
        if problem:
            raise Conflict(f"{line.offer.label}: {problem}", field=line.field,
                           code="not_available")
    draft = model.price_checkout(
        market,
        [model.LineInput(w.offer.variant.id, w.offer.shop.id, w.quantity,
                         w.offer.unit_price or 0) for w in wanted],
        {w.offer.shop.id: w.offer.shipping or 0 for w in wanted},
    )
    checkout = Checkout(
        buyer_id=actor.user_id, market=market.code, currency=market.currency, status="open",
        source=source, subtotal=draft.subtotal, shipping=draft.shipping, tax=draft.tax,
        total=draft.total, ship_to=ship_to,
    )
    session.add(checkout)
    session.flush()
    lines = _add_orders(session, checkout, actor, market, draft, wanted,
                        show_id=show_id, creator_id=creator_id)
    if vouchers:
        apply_voucher(session, actor, checkout, voucher_code)
    _reserve(session, settings, actor, wanted, lines)
    return checkout


def _add_orders(session: Session, checkout: Checkout, actor: Actor, market: Market,
                draft: model.CheckoutDraft, wanted: list[WantedLine], *, show_id: int | None,
                creator_id: int | None) -> dict[int, OrderLine]:
    """One pending order per shop of the draft; its lines, by variant."""
    offers = {w.offer.variant.id: w.offer for w in wanted}
    lines: dict[int, OrderLine] = {}
    for order_draft in draft.orders:
        order = Order(
            number=unique_order_number(session), checkout_id=checkout.id,
            buyer_id=actor.user_id, shop_id=order_draft.shop_id, market=market.code,
            currency=market.currency, status=OrderStatus.PENDING_PAYMENT.value,
            tax_inclusive=market.tax_inclusive, subtotal=order_draft.subtotal,
            shipping=order_draft.shipping, tax=order_draft.tax, total=order_draft.total,
            ship_to=checkout.ship_to, show_id=show_id, creator_id=creator_id,
        )
        order.lines = [
            OrderLine(
                variant_id=line.variant_id,
                product_title=offers[line.variant_id].product.title,
                variant_title=offers[line.variant_id].variant_title,
                sku=offers[line.variant_id].variant.sku, quantity=line.quantity,
                unit_price=line.unit_price, line_total=line.line_total, tax=line.tax,
            )
            for line in order_draft.lines
        ]
        lines.update((line.variant_id, line) for line in order.lines)
        session.add(order)
        session.flush()
        record_event(session, order, None, OrderStatus.PENDING_PAYMENT.value, actor.user_id)
    return lines


def _reserve(session: Session, settings: Settings, actor: Actor, wanted: list[WantedLine],
             lines: dict[int, OrderLine]) -> None:
    """Reserve every line's units (from its flash sale's hold, if any), last: the stock
    row stays locked until the commit, and every buyer of a hot item waits for that lock.
    In variant order, so two checkouts never lock stock rows in opposite orders."""
    ttl = timedelta(seconds=settings.reservation_ttl_seconds)
    for line in sorted(wanted, key=lambda w: w.offer.variant.id):
        try:
            inventory.reserve(session, line.offer.variant.id, line.quantity,
                              holder_id=actor.user_id, ttl=ttl,
                              attach=_attach_to(lines[line.offer.variant.id]),
                              hold_id=line.hold_id)
        except inventory.OutOfStock:
            problem = (stock_problem(units_available(session, line.offer.variant.id),
                                     line.quantity) if line.hold_id is None else None)
            raise inventory.OutOfStock(f"{line.offer.label}: {problem or 'Sold out'}",
                                       field=line.field) from None


def _attach_to(order_line: OrderLine) -> Callable[[Reservation], None]:
    def attach(reservation: Reservation) -> None:
        order_line.reservation_id = reservation.id
    return attach


def orders_of(session: Session, checkout_id: int) -> list[Order]:
    return list(session.scalars(
        select(Order).where(Order.checkout_id == checkout_id).order_by(Order.id)
    ))


def checkout_view(session: Session, checkout: Checkout) -> CheckoutView:
    orders = orders_of(session, checkout.id)
    shop_names: dict[int, str] = {
        shop_id: name for shop_id, name in session.execute(
            select(Shop.id, Shop.name).where(Shop.id.in_([o.shop_id for o in orders])))
    }
    reservation_ids = [line.reservation_id for o in orders for line in o.lines
                       if line.reservation_id is not None]
    reserved_until = session.scalar(
        select(Reservation.expires_at)
        .where(Reservation.id.in_(reservation_ids), Reservation.status == "active")
        .order_by(Reservation.expires_at).limit(1)
    ) if checkout.status == "open" else None
    payment = session.scalars(
        select(Payment).where(Payment.checkout_id == checkout.id).order_by(Payment.id.desc())
    ).first()
    market = MARKETS[checkout.market]
    return CheckoutView(
        id=checkout.id, status=checkout.status, market=checkout.market,
        currency=checkout.currency, tax_inclusive=market.tax_inclusive,
        tax_note=model.tax_note(market), subtotal=checkout.subtotal,
        shipping=checkout.shipping, tax=checkout.tax, discount=checkout.discount,
        voucher_code=incentives.voucher_code_of(session, checkout.id) if checkout.discount
        else None, total=checkout.total, ship_to=checkout.ship_to, reserved_until=reserved_until,
        created_at=checkout.created_at,
        orders=[
            OrderSummary(
                id=o.id, number=o.number, shop_id=o.shop_id,
                shop_name=shop_names.get(o.shop_id, ""), status=o.status,
                subtotal=o.subtotal, shipping=o.shipping, tax=o.tax, discount=o.discount,
                total=o.total, show_id=o.show_id,
                lines=[OrderLineSummary(
                    variant_id=line.variant_id, product_title=line.product_title,
                    variant_title=line.variant_title, sku=line.sku, quantity=line.quantity,
                    unit_price=line.unit_price, line_total=line.line_total, tax=line.tax,
                ) for line in o.lines],
            )
            for o in orders
        ],
        payment=PaymentView(status=payment.status, amount=payment.amount,
                            currency=payment.currency, last4=payment.last4,
                            decline_code=payment.decline_code) if payment else None,
    )


def owned_checkout(session: Session, actor: Actor, checkout_id: int, *, lock: bool = False
                   ) -> Checkout:
    query = select(Checkout).where(Checkout.id == checkout_id)
    if lock:
        query = query.with_for_update()
    checkout = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    # Someone else's checkout is reported as missing, not forbidden: ids are not a secret
    # we want to confirm.
    if checkout is None or checkout.buyer_id != actor.user_id:
        raise NotFound("No such checkout", field="checkout_id")
    return checkout


def create_checkout(db: Database, settings: Settings, actor: Actor, market: Market,
                    data: CheckoutIn, idempotency_key: str | None, *,
                    scope: str = CLIENT_SCOPE) -> StoredResponse:
    """Turn the market's cart into orders with reserved stock. 201 with a CheckoutView.
    It replaces the buyer's cart checkouts left unpaid (:func:`_replace_open_checkouts`).
    ``scope``: where the key is stored (:data:`CHECKOUT_STEP` for a purchase's step)."""

    def operation(session: Session) -> tuple[int, Any]:
        _lock_buyer(session, actor.user_id)
        cart = find_cart(session, actor.user_id, market.code)
        if cart is None or not cart.items:
            raise InvalidInput("Your cart is empty", field="cart", code="cart_empty")
        for item in cart.items:  # added before the limit was lowered, perhaps
            model.validate_quantity(item.quantity, settings.max_units_per_variant,
                                    field=f"items.{item.id}.quantity")
        ship_to = ship_to_address(session, actor, market, data)
        wanted = [WantedLine(variant_in_market(session, item.variant_id, market,
                                               field=f"items.{item.id}"),
                             item.quantity, f"items.{item.id}") for item in cart.items]
        _replace_open_checkouts(session, actor.user_id)
        checkout = open_checkout(session, settings, actor, market, wanted, ship_to,
                                 source="cart", vouchers=True, voucher_code=data.voucher_code)
        return 201, checkout_view(session, checkout).model_dump(mode="json")

    return run_once(
        db, user_id=actor.user_id, key=validate_key(idempotency_key), scope=scope,
        abandoned_seconds=settings.idempotency_abandoned_seconds,
        request_fingerprint=fingerprint("checkout.create",
                                        {"market": market.code, **data.model_dump(mode="json")}),
        operation=operation,
    )


def apply_voucher(session: Session, actor: Actor, checkout: Checkout, code: str | None
                  ) -> None:
    """Reserve a platform voucher on the checkout's goods (the code's, or the best automatic
    one) and take it off what the buyer pays: shared over the lines in proportion, each
    order's total and the checkout's. The buyer's checkouts are serialised (``_lock_buyer``),
    which keeps a voucher's per-buyer limit under concurrent requests."""
    discount = incentives.reserve_voucher(
        session, buyer_id=actor.user_id, market=checkout.market, code=code,
        basket=checkout.subtotal, checkout_id=checkout.id, now=utcnow())
    if not discount:
        return
    orders = orders_of(session, checkout.id)
    lines = [line for order in orders for line in order.lines]
    for line, part in zip(lines, incentive_rules.allocate(
            discount, [line.line_total for line in lines]), strict=True):
        line.discount = part
    for order in orders:
        order.discount = sum(line.discount for line in order.lines)
        order.total -= order.discount
    checkout.discount = discount
    checkout.total -= discount
    session.flush()


def _lock_buyer(session: Session, user_id: int) -> None:
    """Serialise one buyer's checkouts, so two created at once cannot both stay open
    (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises every writer already). NO KEY UPDATE:
    rows that merely reference the buyer (their orders, claims, keys) are not held up."""
    session.execute(select(User.id).where(User.id == user_id)
                    .with_for_update(key_share=True))


def _replace_open_checkouts(session: Session, buyer_id: int) -> None:
    """A buyer has at most one cart checkout open: a new one cancels those left unpaid and
    puts their units back on sale, so checking out again and again cannot pile up
    reservations. One-tap purchases (source buy_now) are paid or released within their own
    request and are left alone."""
    previous = session.scalars(
        select(Checkout).where(Checkout.buyer_id == buyer_id, Checkout.status == "open",
                               Checkout.source == "cart").order_by(Checkout.id)).all()
    for checkout in previous:
        _release_and_cancel(session, checkout, orders_of(session, checkout.id),
                            note="replaced by a new checkout")


def get_checkout(db: Database, actor: Actor, checkout_id: int) -> CheckoutView:
    with db.read() as session:
        return checkout_view(session, owned_checkout(session, actor, checkout_id))


def cancel_checkout(db: Database, actor: Actor, checkout_id: int, note: str = "") -> bool:
    """Give up an open checkout now instead of waiting for its hold to expire."""
    with db.transaction() as session:
        checkout = owned_checkout(session, actor, checkout_id, lock=True)
        return _release_and_cancel(session, checkout, orders_of(session, checkout_id),
                                   note=note or "cancelled by buyer")


def _raise_stored_error(stored: StoredResponse) -> None:
    if stored.status >= 400:
        error = stored.body["error"]
        raised = DomainError(error["message"], field=error["field"], code=error["code"])
        raised.status = stored.status
        raise raised


def checkout_result(stored: StoredResponse) -> CheckoutView:
    """The CheckoutView of a stored response, or its stored error raised again."""
    _raise_stored_error(stored)
    return CheckoutView.model_validate(stored.body)


def opened_checkout_id(stored: StoredResponse) -> int:
    _raise_stored_error(stored)
    return int(stored.body["id"])


def _release_and_cancel(session: Session, checkout: Checkout, orders: list[Order], note: str
                        ) -> bool:
    """open -> cancelled with its reservations back in stock; False if it was not open."""
    won = rows_affected(session.execute(
        update(Checkout).where(Checkout.id == checkout.id, Checkout.status == "open")
        .values(status="cancelled")
    ))
    if won != 1:
        return False
    # Before the stock, as checkouts reserve (``open_checkout``): one lock order.
    incentives.release_voucher(session, checkout.id)
    # In variant order, as checkouts reserve: a checkout replacing this one goes on to
    # reserve in the same transaction, and stock rows are always locked in one order.
    lines = sorted((line for order in orders for line in order.lines),
                   key=lambda line: line.variant_id)
    for line in lines:
        if line.reservation_id is not None:
            inventory.release(session, line.reservation_id, note=note)
    for order in orders:
        if order.status == OrderStatus.PENDING_PAYMENT.value:
            orders_service.transition(session, order, OrderStatus.CANCELLED, None, note=note)
    return True


def pay_checkout(db: Database, payments: PaymentProvider, settings: Settings, actor: Actor,
                 checkout_id: int, data: PayIn, idempotency_key: str | None, *,
                 scope: str = CLIENT_SCOPE, flash_sale_id: int | None = None
                 ) -> StoredResponse:
    """Charge for an open checkout. 200 with the paid CheckoutView; 402 when declined
    (orders cancelled, stock released, cart kept); 409 when the reservations expired.
    ``scope``: where the key is stored (:data:`PAYMENT_STEP` for a purchase's step);
    ``flash_sale_id``: the live sale the units were claimed in, told with the orders paid."""
    payload = data.model_dump(mode="json", exclude={"card"})
    payload["card"] = card_digest(data.card, settings.secret_key) if data.card else None
    return run_once(
        db, user_id=actor.user_id, key=validate_key(idempotency_key), scope=scope,
        abandoned_seconds=settings.idempotency_abandoned_seconds,
        request_fingerprint=fingerprint("checkout.pay", {"checkout_id": checkout_id, **payload}),
        operation=lambda session: _pay(session, payments, settings, actor, checkout_id, data,
                                       flash_sale_id),
    )


@dataclass(frozen=True)
class _Card:
    token: str
    last4: str
    new: TokenizedCard | None  # entered for this payment, not a saved one


def _card_to_charge(session: Session, payments: PaymentProvider, actor: Actor,
                    data: PayIn) -> _Card:
    if data.card is not None:
        new_card = tokenize(payments, data.card)
        return _Card(new_card.token, new_card.last4, new_card)
    if data.payment_method_id is not None:
        method = session.get(PaymentMethod, data.payment_method_id)
        if method is None or method.user_id != actor.user_id:
            raise NotFound("No such saved card", field="payment_method_id")
        return _Card(method.token, method.last4, None)
    raise InvalidInput("Choose a saved card or enter card details", field="card")


def _pay(session: Session, payments: PaymentProvider, settings: Settings, actor: Actor,
         checkout_id: int, data: PayIn, flash_sale_id: int | None) -> tuple[int, Any]:
    checkout = owned_checkout(session, actor, checkout_id, lock=True)
    if checkout.status == "paid":
        return 200, checkout_view(session, checkout).model_dump(mode="json")
    if checkout.status != "open":
        raise Conflict("This checkout was cancelled; check out again",
                       field="checkout_id", code="checkout_closed")
    card = _card_to_charge(session, payments, actor, data)
    orders = orders_of(session, checkout.id)
    reservation_ids = [line.reservation_id for order in orders for line in order.lines
                       if line.reservation_id is not None]
    # Pushed out first so the sweeper cannot release the stock while the charge runs.
    hold = utcnow() + timedelta(seconds=settings.reservation_ttl_seconds)
    if not inventory.extend(session, reservation_ids, hold):
        _release_and_cancel(session, checkout, orders, note="reservation expired")
        return 409, error_body(Conflict(
            "This checkout expired before it was paid; the items went back on sale. "
            "Check out again.", field="checkout_id", code="checkout_expired"))
    result = payments.charge(card.token, checkout.total, checkout.currency,
                             idempotency_key=f"checkout-{checkout.id}")
    session.add(Payment(
        checkout_id=checkout.id, amount=checkout.total, currency=checkout.currency,
        status="succeeded" if result.succeeded else "declined", provider=payments.name,
        provider_ref=result.reference, last4=card.last4, decline_code=result.decline_code,
    ))
    if not result.succeeded:
        code = result.decline_code or "card_declined"
        _release_and_cancel(session, checkout, orders, note=f"payment declined: {code}")
        session.flush()
        return 402, error_body(PaymentDeclined(result.message or "Your card was declined.",
                                               field="card", code=code))
    return 200, _mark_paid(session, payments, actor, checkout, orders,
                           card.new if data.save_card else None, flash_sale_id)


def _mark_paid(session: Session, payments: PaymentProvider, actor: Actor, checkout: Checkout,
               orders: list[Order], card_to_save: TokenizedCard | None,
               flash_sale_id: int | None) -> dict[str, Any]:
    """open -> paid with its orders (an ``OrderPaid`` each), its units sold; the paid
    CheckoutView."""
    won = rows_affected(session.execute(
        update(Checkout).where(Checkout.id == checkout.id, Checkout.status == "open")
        .values(status="paid")
    ))
    if won != 1:
        raise Conflict("This checkout was settled by another request", code="checkout_closed")
    incentives.redeem_voucher(session, checkout.id)
    for order in orders:
        orders_service.transition(session, order, OrderStatus.PAID, actor.user_id)
    if checkout.source == "cart":
        remove_bought_from_cart(session, checkout, orders)
    if card_to_save is not None:
        store_card(session, actor.user_id, payments.name, card_to_save, make_default=False)
    session.flush()
    paid = checkout_view(session, checkout).model_dump(mode="json")
    # Last, like reserving: the stock row stays locked until the commit.
    for order in orders:
        stock = {line.variant_id: inventory.commit(session, line.reservation_id, order.id)
                 for line in order.lines if line.reservation_id is not None}
        record(session, order_paid(order, actor, stock, flash_sale_id))
    return paid


def place_free_order(session: Session, payments: PaymentProvider, settings: Settings,
                     buyer: Actor, market: Market, variant_id: int, ship_to: dict[str, str],
                     *, source: str, field: str = "variant_id") -> Order:
    """One unit of a variant at no charge (a creator's sample, liveshop/affiliates): priced
    at zero with no shipping, its unit reserved and sold like any order's, and paid at once
    with nothing to charge; then shipped and delivered through the seller's usual steps.
    Out of stock is a 409 naming ``field``."""
    offer = variant_in_market(session, variant_id, market, field=field)
    free = VariantInMarket(offer.variant, offer.product, offer.shop, 0,
                           0 if offer.shipping is not None else None)
    checkout = open_checkout(session, settings, buyer, market, [WantedLine(free, 1, field)],
                             ship_to, source=source)
    orders = orders_of(session, checkout.id)
    _mark_paid(session, payments, buyer, checkout, orders, None, None)
    return orders[0]


def expire_stale_checkouts(db: Database, now: datetime | None = None) -> int:
    """Release expired reservations and cancel the open checkouts (and their pending
    orders) that lost any of them. Returns how many checkouts were cancelled."""
    now = now or utcnow()
    inventory.release_expired(db, now)
    with db.transaction() as session:
        stale_ids = session.scalars(
            select(Checkout.id).distinct()
            .join(Order, Order.checkout_id == Checkout.id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Reservation, Reservation.id == OrderLine.reservation_id)
            .where(Checkout.status == "open", or_(
                Reservation.status == "released",
                and_(Reservation.status == "active", Reservation.expires_at <= now),
            ))
        ).all()
        cancelled = 0
        for checkout_id in stale_ids:
            checkout = session.get(Checkout, checkout_id)
            assert checkout is not None
            cancelled += _release_and_cancel(session, checkout, orders_of(session, checkout_id),
                                             note="reservation expired")
        return cancelled
