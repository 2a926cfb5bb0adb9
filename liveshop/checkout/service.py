"""Cart, checkout, payment, saved cards, one-tap buy and the expiry sweep.

Checkout and pay are retryable writes: each runs inside ``run_once`` so a retried request
replays the stored result. Pay also charges the provider with the key ``checkout-{id}``,
so even a crash between charging and committing cannot charge the buyer twice; the
checkout row is locked while paying and flips open -> paid with a conditional UPDATE, so
concurrent payers of one checkout produce exactly one Payment.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import Address, User
from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.checkout import model
from liveshop.checkout.ordering import record_event, unique_order_number
from liveshop.checkout.orm import Cart, CartItem, Checkout
from liveshop.checkout.schemas import (
    CardIn,
    CartLineView,
    CartShopView,
    CartView,
    CheckoutIn,
    CheckoutView,
    OrderLineSummary,
    OrderSummary,
    PayIn,
    PaymentMethodIn,
    PaymentMethodView,
    PaymentView,
)
from liveshop.core.config import Settings
from liveshop.core.db import Database, rows_affected, utcnow
from liveshop.core.errors import Conflict, DomainError, InvalidInput, NotFound, PaymentDeclined
from liveshop.core.idempotency import (
    CLIENT_SCOPE,
    StoredResponse,
    error_body,
    fingerprint,
    run_once,
    stored_response,
    validate_key,
)
from liveshop.inventory import service as inventory
from liveshop.inventory.orm import Reservation, StockLevel
from liveshop.markets.model import MARKETS, Market
from liveshop.orders import service as orders_service
from liveshop.orders.model import OrderStatus
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.orm import Payment, PaymentMethod
from liveshop.payments.provider import CardDetails, PaymentProvider, TokenizedCard

T = TypeVar("T")

# A purchase in two steps under one client key (one tap, the checkout page) stores each step
# in a scope of its own (liveshop/core/idempotency.py).
CHECKOUT_STEP = "checkout"
PAYMENT_STEP = "pay"


# --- what a variant is, as sold in one market ---

@dataclass(frozen=True)
class Offer:
    variant: Variant
    product: Product
    shop: Shop
    unit_price: int | None
    shipping: int | None

    @property
    def variant_title(self) -> str:
        options = [o for o in (self.variant.option1, self.variant.option2, self.variant.option3)
                   if o]
        return " / ".join(options)

    @property
    def label(self) -> str:
        options = self.variant_title
        return f"{self.product.title} ({options})" if options else self.product.title

    def problem(self, market: Market) -> str | None:
        """Why this cannot be bought in the market at all (stock aside), or None."""
        if self.product.status != "active":
            return "No longer for sale"
        if self.unit_price is None:
            return f"Not sold in {market.name}"
        if self.shipping is None:
            return f"{self.shop.name} does not ship to {market.name}"
        return None


def _offer(session: Session, variant_id: int, market: Market, field: str = "variant_id"
           ) -> Offer:
    variant = session.get(Variant, variant_id)
    if variant is None:
        raise NotFound("No such product variant", field=field)
    shop = session.get(Shop, variant.shop_id)
    assert shop is not None
    price = next((p.amount_minor for p in variant.prices if p.market == market.code), None)
    shipping = next((m.shipping_minor for m in shop.markets if m.market == market.code), None)
    return Offer(variant, variant.product, shop, price, shipping)


def _image_url(product: Product) -> str | None:
    return f"/media/{product.images[0].path}" if product.images else None


def _available(session: Session, variant_id: int) -> int:
    level = session.get(StockLevel, variant_id, populate_existing=True)
    return level.available if level is not None else 0


def _stock_problem(available: int, quantity: int) -> str | None:
    if available <= 0:
        return "Sold out"
    if available < quantity:
        return f"Only {available} left"
    return None


# --- cart ---

def _find_cart(session: Session, user_id: int, market: str) -> Cart | None:
    return session.scalars(
        select(Cart).where(Cart.user_id == user_id, Cart.market == market)
    ).one_or_none()


def _retry_on_race(db: Database, work: Callable[[Session], T]) -> T:
    """Run once more if a concurrent request inserted the same cart row first."""
    try:
        with db.transaction() as session:
            return work(session)
    except IntegrityError:
        with db.transaction() as session:
            return work(session)


def _cart_view(session: Session, cart: Cart | None, market: Market) -> CartView:
    rows: list[tuple[CartItem, Offer, str | None, int]] = []
    for item in cart.items if cart is not None else []:
        offer = _offer(session, item.variant_id, market)
        available = _available(session, item.variant_id)
        problem = offer.problem(market) or _stock_problem(available, item.quantity)
        rows.append((item, offer, problem, available))

    sellable = [(item, offer) for item, offer, _, _ in rows if offer.problem(market) is None]
    draft = model.price_checkout(
        market,
        [model.LineInput(o.variant.id, o.shop.id, i.quantity, o.unit_price or 0)
         for i, o in sellable],
        {o.shop.id: o.shipping or 0 for _, o in sellable},
    )
    drafts = {order.shop_id: order for order in draft.orders}
    priced = {line.variant_id: line for order in draft.orders for line in order.lines}

    shops: dict[int, CartShopView] = {}
    for item, offer, problem, available in rows:
        shop_draft = drafts.get(offer.shop.id)
        group = shops.setdefault(offer.shop.id, CartShopView(
            shop_id=offer.shop.id, shop_name=offer.shop.name, lines=[],
            subtotal=shop_draft.subtotal if shop_draft else 0,
            shipping=shop_draft.shipping if shop_draft else 0,
            tax=shop_draft.tax if shop_draft else 0,
            total=shop_draft.total if shop_draft else 0,
        ))
        line = priced.get(item.variant_id)
        group.lines.append(CartLineView(
            item_id=item.id, variant_id=item.variant_id, product_id=offer.product.id,
            product_title=offer.product.title, variant_title=offer.variant_title,
            sku=offer.variant.sku, image_url=_image_url(offer.product), quantity=item.quantity,
            unit_price=offer.unit_price if line else None,
            line_total=line.line_total if line else 0, tax=line.tax if line else 0,
            available=available, problem=problem,
        ))
    return CartView(
        market=market.code, currency=market.currency, tax_inclusive=market.tax_inclusive,
        tax_note=model.tax_note(market), shops=list(shops.values()),
        item_count=sum(item.quantity for item, _, _, _ in rows),
        subtotal=draft.subtotal, shipping=draft.shipping, tax=draft.tax, total=draft.total,
        has_problems=any(problem for _, _, problem, _ in rows),
    )


def get_cart(db: Database, actor: Actor, market: Market) -> CartView:
    with db.read() as session:
        return _cart_view(session, _find_cart(session, actor.user_id, market.code), market)


def _check_stock(session: Session, offer: Offer, quantity: int) -> None:
    problem = _stock_problem(_available(session, offer.variant.id), quantity)
    if problem:
        raise inventory.OutOfStock(f"{offer.label}: {problem}", field="quantity")


def add_item(db: Database, settings: Settings, actor: Actor, market: Market, variant_id: int,
             quantity: int) -> CartView:
    limit = settings.max_units_per_variant
    model.validate_quantity(quantity, limit)

    def work(session: Session) -> CartView:
        offer = _offer(session, variant_id, market)
        problem = offer.problem(market)
        if problem:
            raise InvalidInput(f"{offer.label}: {problem}", field="variant_id",
                               code="not_available")
        cart = _find_cart(session, actor.user_id, market.code)
        if cart is None:
            cart = Cart(user_id=actor.user_id, market=market.code)
            session.add(cart)
            session.flush()
        item = next((i for i in cart.items if i.variant_id == variant_id), None)
        total = quantity + (item.quantity if item else 0)
        model.validate_quantity(total, limit)
        _check_stock(session, offer, total)
        if item is None:
            cart.items.append(CartItem(variant_id=variant_id, quantity=total))
        else:
            item.quantity = total
        cart.updated_at = utcnow()
        session.flush()
        return _cart_view(session, cart, market)

    return _retry_on_race(db, work)


def _owned_item(session: Session, actor: Actor, market: Market, item_id: int
                ) -> tuple[Cart, CartItem]:
    cart = _find_cart(session, actor.user_id, market.code)
    item = next((i for i in cart.items if i.id == item_id), None) if cart else None
    if cart is None or item is None:
        raise NotFound("No such item in your cart", field="item_id")
    return cart, item


def update_item(db: Database, settings: Settings, actor: Actor, market: Market, item_id: int,
                quantity: int) -> CartView:
    model.validate_quantity(quantity, settings.max_units_per_variant)
    with db.transaction() as session:
        cart, item = _owned_item(session, actor, market, item_id)
        if quantity > item.quantity:
            _check_stock(session, _offer(session, item.variant_id, market), quantity)
        item.quantity = quantity
        session.flush()
        return _cart_view(session, cart, market)


def remove_item(db: Database, actor: Actor, market: Market, item_id: int) -> CartView:
    with db.transaction() as session:
        cart, item = _owned_item(session, actor, market, item_id)
        cart.items.remove(item)
        session.flush()
        return _cart_view(session, cart, market)


# --- checkout ---

@dataclass(frozen=True)
class WantedLine:
    offer: Offer
    quantity: int
    field: str  # names the line in errors, e.g. "items.12"
    hold_id: int | None = None  # a flash sale's units, set aside for it (inventory.hold)


def _ship_to(session: Session, actor: Actor, market: Market, data: CheckoutIn
             ) -> dict[str, str]:
    if data.address_id is not None:
        saved = session.get(Address, data.address_id)
        if saved is None or saved.user_id != actor.user_id:
            raise NotFound("No such saved address", field="address_id")
        model.check_ship_to_country(market, saved.country, field="address_id")
        return {"full_name": saved.full_name, "line1": saved.line1, "line2": saved.line2,
                "city": saved.city, "postcode": saved.postcode, "country": saved.country}
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


def _open_checkout(session: Session, settings: Settings, actor: Actor, market: Market,
                   wanted: list[WantedLine], ship_to: dict[str, str], *, source: str,
                   show_id: int | None = None, creator_id: int | None = None) -> Checkout:
    """Price the lines into one order per shop and reserve every unit, all or nothing."""
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

    offers = {w.offer.variant.id: w.offer for w in wanted}
    lines: dict[int, OrderLine] = {}
    for order_draft in draft.orders:
        order = Order(
            number=unique_order_number(session), checkout_id=checkout.id,
            buyer_id=actor.user_id, shop_id=order_draft.shop_id, market=market.code,
            currency=market.currency, status=OrderStatus.PENDING_PAYMENT.value,
            tax_inclusive=market.tax_inclusive, subtotal=order_draft.subtotal,
            shipping=order_draft.shipping, tax=order_draft.tax, total=order_draft.total,
            ship_to=ship_to, show_id=show_id, creator_id=creator_id,
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

    # Stock is reserved last: its row stays locked until the commit, and every buyer of a
    # hot item waits for that lock. In variant order, so two checkouts never lock stock
    # rows in opposite orders.
    ttl = timedelta(seconds=settings.reservation_ttl_seconds)
    for line in sorted(wanted, key=lambda w: w.offer.variant.id):
        try:
            inventory.reserve(session, line.offer.variant.id, line.quantity,
                              holder_id=actor.user_id, ttl=ttl,
                              attach=_attach_to(lines[line.offer.variant.id]),
                              hold_id=line.hold_id)
        except inventory.OutOfStock:
            problem = (_stock_problem(_available(session, line.offer.variant.id), line.quantity)
                       if line.hold_id is None else None)
            raise inventory.OutOfStock(f"{line.offer.label}: {problem or 'Sold out'}",
                                       field=line.field) from None
    return checkout


def _attach_to(order_line: OrderLine) -> Callable[[Reservation], None]:
    def attach(reservation: Reservation) -> None:
        order_line.reservation_id = reservation.id
    return attach


def _orders_of(session: Session, checkout_id: int) -> list[Order]:
    return list(session.scalars(
        select(Order).where(Order.checkout_id == checkout_id).order_by(Order.id)
    ))


def _checkout_view(session: Session, checkout: Checkout) -> CheckoutView:
    orders = _orders_of(session, checkout.id)
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
        shipping=checkout.shipping, tax=checkout.tax, total=checkout.total,
        ship_to=checkout.ship_to, reserved_until=reserved_until,
        created_at=checkout.created_at,
        orders=[
            OrderSummary(
                id=o.id, number=o.number, shop_id=o.shop_id,
                shop_name=shop_names.get(o.shop_id, ""), status=o.status,
                subtotal=o.subtotal, shipping=o.shipping, tax=o.tax, total=o.total,
                show_id=o.show_id,
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


def _owned_checkout(session: Session, actor: Actor, checkout_id: int, *, lock: bool = False
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
        cart = _find_cart(session, actor.user_id, market.code)
        if cart is None or not cart.items:
            raise InvalidInput("Your cart is empty", field="cart", code="cart_empty")
        for item in cart.items:  # added before the limit was lowered, perhaps
            model.validate_quantity(item.quantity, settings.max_units_per_variant,
                                    field=f"items.{item.id}.quantity")
        ship_to = _ship_to(session, actor, market, data)
        wanted = [WantedLine(_offer(session, item.variant_id, market, field=f"items.{item.id}"),
                             item.quantity, f"items.{item.id}") for item in cart.items]
        _replace_open_checkouts(session, actor.user_id)
        checkout = _open_checkout(session, settings, actor, market, wanted, ship_to,
                                  source="cart")
        return 201, _checkout_view(session, checkout).model_dump(mode="json")

    return run_once(
        db, user_id=actor.user_id, key=validate_key(idempotency_key), scope=scope,
        request_fingerprint=fingerprint("checkout.create",
                                        {"market": market.code, **data.model_dump(mode="json")}),
        operation=operation,
    )


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
        _release_and_cancel(session, checkout, _orders_of(session, checkout.id),
                            note="replaced by a new checkout")


def get_checkout(db: Database, actor: Actor, checkout_id: int) -> CheckoutView:
    with db.read() as session:
        return _checkout_view(session, _owned_checkout(session, actor, checkout_id))


def cancel_checkout(db: Database, actor: Actor, checkout_id: int, note: str = "") -> bool:
    """Give up an open checkout now instead of waiting for its hold to expire."""
    with db.transaction() as session:
        checkout = _owned_checkout(session, actor, checkout_id, lock=True)
        return _release_and_cancel(session, checkout, _orders_of(session, checkout_id),
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


# --- paying ---

def _release_and_cancel(session: Session, checkout: Checkout, orders: list[Order], note: str
                        ) -> bool:
    """open -> cancelled with its reservations back in stock; False if it was not open."""
    won = rows_affected(session.execute(
        update(Checkout).where(Checkout.id == checkout.id, Checkout.status == "open")
        .values(status="cancelled")
    ))
    if won != 1:
        return False
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


def _card_digest(card: CardIn, secret: str) -> str:
    """Stands in for the card in the idempotency fingerprint: keyed, so it cannot be
    brute-forced back into a card number from the database."""
    material = f"{card.number}|{card.exp_month}|{card.exp_year}|{card.cvc}"
    return hmac.new(secret.encode(), material.encode(), hashlib.sha256).hexdigest()


def _tokenize(payments: PaymentProvider, card: CardIn) -> TokenizedCard:
    return payments.tokenize(CardDetails(number=card.number, exp_month=card.exp_month,
                                         exp_year=card.exp_year, cvc=card.cvc))


def _store_card(session: Session, user_id: int, provider: str, card: TokenizedCard,
                make_default: bool) -> PaymentMethod:
    has_default = session.scalar(select(PaymentMethod.id).where(
        PaymentMethod.user_id == user_id, PaymentMethod.is_default.is_(True)).limit(1))
    if make_default and has_default:
        session.execute(update(PaymentMethod).where(PaymentMethod.user_id == user_id)
                        .values(is_default=False))
    method = PaymentMethod(
        user_id=user_id, provider=provider, token=card.token, brand=card.brand,
        last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year,
        is_default=make_default or not has_default,
    )
    session.add(method)
    session.flush()
    return method


def _remove_bought_from_cart(session: Session, checkout: Checkout, orders: list[Order]
                             ) -> None:
    """Take the paid units out of the cart; units added since checkout stay."""
    cart = _find_cart(session, checkout.buyer_id, checkout.market)
    if cart is None:
        return
    bought: dict[int, int] = {}
    for order in orders:
        for line in order.lines:
            bought[line.variant_id] = bought.get(line.variant_id, 0) + line.quantity
    for item in list(cart.items):
        if item.variant_id in bought:
            item.quantity -= bought[item.variant_id]
            if item.quantity <= 0:
                cart.items.remove(item)


def pay_checkout(db: Database, payments: PaymentProvider, settings: Settings, actor: Actor,
                 checkout_id: int, data: PayIn, idempotency_key: str | None, *,
                 scope: str = CLIENT_SCOPE) -> StoredResponse:
    """Charge for an open checkout. 200 with the paid CheckoutView; 402 when declined
    (orders cancelled, stock released, cart kept); 409 when the reservations expired.
    ``scope``: where the key is stored (:data:`PAYMENT_STEP` for a purchase's step)."""

    def operation(session: Session) -> tuple[int, Any]:
        checkout = _owned_checkout(session, actor, checkout_id, lock=True)
        if checkout.status == "paid":
            return 200, _checkout_view(session, checkout).model_dump(mode="json")
        if checkout.status != "open":
            raise Conflict("This checkout was cancelled; check out again",
                           field="checkout_id", code="checkout_closed")
        new_card: TokenizedCard | None = None
        if data.card is not None:
            new_card = _tokenize(payments, data.card)
            token, last4 = new_card.token, new_card.last4
        elif data.payment_method_id is not None:
            method = session.get(PaymentMethod, data.payment_method_id)
            if method is None or method.user_id != actor.user_id:
                raise NotFound("No such saved card", field="payment_method_id")
            token, last4 = method.token, method.last4
        else:
            raise InvalidInput("Choose a saved card or enter card details", field="card")

        orders = _orders_of(session, checkout.id)
        reservation_ids = [line.reservation_id for order in orders for line in order.lines
                           if line.reservation_id is not None]
        # Pushed out first so the sweeper cannot release the stock while the charge runs.
        hold = utcnow() + timedelta(seconds=settings.reservation_ttl_seconds)
        if not inventory.extend(session, reservation_ids, hold):
            _release_and_cancel(session, checkout, orders, note="reservation expired")
            return 409, error_body(Conflict(
                "This checkout expired before it was paid; the items went back on sale. "
                "Check out again.", field="checkout_id", code="checkout_expired"))

        result = payments.charge(token, checkout.total, checkout.currency,
                                 idempotency_key=f"checkout-{checkout.id}")
        session.add(Payment(
            checkout_id=checkout.id, amount=checkout.total, currency=checkout.currency,
            status="succeeded" if result.succeeded else "declined", provider=payments.name,
            provider_ref=result.reference, last4=last4, decline_code=result.decline_code,
        ))
        if not result.succeeded:
            code = result.decline_code or "card_declined"
            _release_and_cancel(session, checkout, orders, note=f"payment declined: {code}")
            session.flush()
            return 402, error_body(PaymentDeclined(result.message or "Your card was declined.",
                                                   field="card", code=code))

        won = rows_affected(session.execute(
            update(Checkout).where(Checkout.id == checkout.id, Checkout.status == "open")
            .values(status="paid")
        ))
        if won != 1:
            raise Conflict("This checkout was settled by another request", code="checkout_closed")
        for order in orders:
            orders_service.transition(session, order, OrderStatus.PAID, actor.user_id)
        if checkout.source == "cart":
            _remove_bought_from_cart(session, checkout, orders)
        if new_card is not None and data.save_card:
            _store_card(session, actor.user_id, payments.name, new_card, make_default=False)
        session.flush()
        paid = _checkout_view(session, checkout).model_dump(mode="json")
        # Last, like reserving: the stock row stays locked until the commit.
        for order in orders:
            for line in order.lines:
                if line.reservation_id is not None:
                    inventory.commit(session, line.reservation_id, order.id)
        return 200, paid

    payload = data.model_dump(mode="json", exclude={"card"})
    payload["card"] = _card_digest(data.card, settings.secret_key) if data.card else None
    return run_once(
        db, user_id=actor.user_id, key=validate_key(idempotency_key), scope=scope,
        request_fingerprint=fingerprint("checkout.pay", {"checkout_id": checkout_id, **payload}),
        operation=operation,
    )


# --- one-tap buy (live rooms) ---

def _default_address(user_id: int) -> Select[Any]:
    return select(Address).where(Address.user_id == user_id, Address.is_default.is_(True)
                                 ).order_by(Address.id.desc()).limit(1)


def _default_method(user_id: int) -> Select[Any]:
    return select(PaymentMethod).where(PaymentMethod.user_id == user_id,
                                       PaymentMethod.is_default.is_(True)
                                       ).order_by(PaymentMethod.id.desc()).limit(1)


def _defaults(session: Session, user_id: int) -> tuple[Address | None, PaymentMethod | None]:
    return (session.scalars(_default_address(user_id)).first(),
            session.scalars(_default_method(user_id)).first())


def one_tap_ready(db: Database, user_ids: Collection[int]) -> set[int]:
    """Which of the users have a default address and a default card, in one query."""
    with db.read() as session:
        return set(session.scalars(
            select(Address.user_id).where(Address.user_id.in_(user_ids),
                                          Address.is_default.is_(True))
            .intersect(select(PaymentMethod.user_id).where(
                PaymentMethod.user_id.in_(user_ids), PaymentMethod.is_default.is_(True)))))


def one_tap_details(db: Database, user_id: int) -> tuple[int, int]:
    """The default address and card a one-tap purchase uses (ids), or why it cannot: one
    query, since every tap of a flash sale asks."""
    with db.read() as session:
        address_id, method_id = session.execute(select(
            _default_address(user_id).with_only_columns(Address.id).scalar_subquery(),
            _default_method(user_id).with_only_columns(PaymentMethod.id).scalar_subquery(),
        )).one()
    if method_id is None:
        raise InvalidInput("Save a card and make it your default to buy in one tap",
                           field="payment_method", code="payment_method_required")
    if address_id is None:
        raise InvalidInput("Save a default shipping address to buy in one tap",
                           field="address", code="address_required")
    return address_id, method_id


def buy_now(db: Database, payments: PaymentProvider, settings: Settings, actor: Actor,
            variant_id: int, quantity: int, market: Market, idempotency_key: str | None,
            unit_price_override: int | None = None, show_id: int | None = None,
            creator_id: int | None = None, hold_id: int | None = None) -> CheckoutView:
    """Check out one line with the default address and card and pay for it at once.

    ``unit_price_override`` is a live-room price (minor units of the market's currency);
    the orders carry ``show_id`` and ``creator_id`` (the live host); ``hold_id``: the units
    come from that flash sale's hold, not from available (a declined card puts them back
    there). Raises like pay does (402 declined, 409 out of stock).
    """
    key = validate_key(idempotency_key)
    model.validate_quantity(quantity, settings.max_units_per_variant)
    if unit_price_override is not None and unit_price_override < 0:
        raise InvalidInput("A price cannot be negative", field="unit_price_override")
    address_id, method_id = one_tap_details(db, actor.user_id)

    def operation(session: Session) -> tuple[int, Any]:
        ship_to = _ship_to(session, actor, market, CheckoutIn(address_id=address_id))
        offer = _offer(session, variant_id, market)
        if unit_price_override is not None:
            offer = replace(offer, unit_price=unit_price_override)
        checkout = _open_checkout(session, settings, actor, market,
                                  [WantedLine(offer, quantity, "variant_id", hold_id)], ship_to,
                                  source="buy_now", show_id=show_id,
                                  creator_id=creator_id)
        # Only the id: the paid checkout is what the buyer sees, and building a view here
        # would keep the stock row locked longer.
        return 201, {"id": checkout.id}

    created = opened_checkout_id(run_once(
        db, user_id=actor.user_id, key=key, scope=CHECKOUT_STEP,
        request_fingerprint=fingerprint("checkout.buy_now", {
            "variant_id": variant_id, "quantity": quantity, "market": market.code,
            "unit_price_override": unit_price_override, "show_id": show_id,
            "creator_id": creator_id, "address_id": address_id,
        }),
        # No payment provider here: the key is stored with the checkout, in one transaction.
        operation=operation, brief=True,
    ))
    return checkout_result(pay_checkout(db, payments, settings, actor, created,
                                        PayIn(payment_method_id=method_id), key,
                                        scope=PAYMENT_STEP))


def one_tap_checkout(db: Database, actor: Actor, idempotency_key: str) -> CheckoutView | None:
    """The checkout that :func:`buy_now` under this key opened, if its checkout step ran."""
    with db.read() as session:
        opened = stored_response(session, actor.user_id, idempotency_key, scope=CHECKOUT_STEP)
        if opened is None or opened.status >= 400:
            return None
        return _checkout_view(session, _owned_checkout(session, actor, int(opened.body["id"])))


# --- saved cards ---

def add_payment_method(db: Database, payments: PaymentProvider, actor: Actor,
                       data: PaymentMethodIn) -> PaymentMethodView:
    card = _tokenize(payments, data.card)
    with db.transaction() as session:
        method = _store_card(session, actor.user_id, payments.name, card, data.make_default)
        return PaymentMethodView.model_validate(method)


def list_payment_methods(db: Database, actor: Actor) -> list[PaymentMethodView]:
    with db.read() as session:
        rows = session.scalars(select(PaymentMethod).where(
            PaymentMethod.user_id == actor.user_id
        ).order_by(PaymentMethod.is_default.desc(), PaymentMethod.id.desc()))
        return [PaymentMethodView.model_validate(row) for row in rows]


def delete_payment_method(db: Database, actor: Actor, method_id: int) -> None:
    with db.transaction() as session:
        method = session.get(PaymentMethod, method_id)
        if method is None or method.user_id != actor.user_id:
            raise NotFound("No such saved card", field="payment_method_id")
        was_default = method.is_default
        session.execute(delete(PaymentMethod).where(PaymentMethod.id == method_id))
        if was_default:
            newest = session.scalars(select(PaymentMethod).where(
                PaymentMethod.user_id == actor.user_id
            ).order_by(PaymentMethod.id.desc())).first()
            if newest is not None:
                newest.is_default = True


# --- expiry ---

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
            cancelled += _release_and_cancel(session, checkout, _orders_of(session, checkout_id),
                                             note="reservation expired")
        return cancelled
