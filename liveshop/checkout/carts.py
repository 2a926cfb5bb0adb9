"""The cart: one per buyer and market, priced per shop as checkout would price it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog.orm import Product
from liveshop.checkout import model
from liveshop.checkout.events import CartItemAdded
from liveshop.checkout.market_variants import (
    VariantInMarket,
    stock_problem,
    units_available,
    variant_in_market,
)
from liveshop.checkout.orm import Cart, CartItem, Checkout
from liveshop.checkout.schemas import CartLineView, CartShopView, CartView
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, InvalidInput, NotFound
from liveshop.core.events import record
from liveshop.inventory import service as inventory
from liveshop.markets.model import Market
from liveshop.orders.orm import Order

T = TypeVar("T")


def find_cart(session: Session, user_id: int, market: str) -> Cart | None:
    return session.scalars(
        select(Cart).where(Cart.user_id == user_id, Cart.market == market)
    ).one_or_none()


def cart_units(db: Database, user_id: int, market: str) -> int:
    """Units in the buyer's cart for the market: the header's cart badge."""
    with db.read() as session:
        return session.scalar(
            select(func.coalesce(func.sum(CartItem.quantity), 0))
            .join(Cart, Cart.id == CartItem.cart_id)
            .where(Cart.user_id == user_id, Cart.market == market)) or 0


def _retry_on_race(db: Database, work: Callable[[Session], T]) -> T:
    """Run once more if a concurrent request inserted the same cart row first."""
    try:
        with db.transaction() as session:
            return work(session)
    except IntegrityError:
        with db.transaction() as session:
            return work(session)


def _image_url(product: Product) -> str | None:
    return f"/media/{product.images[0].path}" if product.images else None


def _cart_view(session: Session, cart: Cart | None, market: Market) -> CartView:
    rows: list[tuple[CartItem, VariantInMarket, str | None, int]] = []
    for item in cart.items if cart is not None else []:
        offer = variant_in_market(session, item.variant_id, market)
        available = units_available(session, item.variant_id)
        problem = offer.problem(market) or stock_problem(available, item.quantity)
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
        return _cart_view(session, find_cart(session, actor.user_id, market.code), market)


def _check_stock(session: Session, offer: VariantInMarket, quantity: int) -> None:
    problem = stock_problem(units_available(session, offer.variant.id), quantity)
    if problem:
        raise inventory.OutOfStock(f"{offer.label}: {problem}", field="quantity")


def add_item(db: Database, settings: Settings, actor: Actor, market: Market, variant_id: int,
             quantity: int) -> CartView:
    limit = settings.max_units_per_variant
    model.validate_quantity(quantity, limit)

    def work(session: Session) -> CartView:
        offer = variant_in_market(session, variant_id, market)
        problem = offer.problem(market)
        if problem:
            raise InvalidInput(f"{offer.label}: {problem}", field="variant_id",
                               code="not_available")
        cart = find_cart(session, actor.user_id, market.code)
        if cart is None:
            cart = Cart(user_id=actor.user_id, market=market.code)
            session.add(cart)
            session.flush()
        item = next((i for i in cart.items if i.variant_id == variant_id), None)
        total = quantity + (item.quantity if item else 0)
        if item is not None and total > limit:
            # The request is valid; what is already in the cart makes it too many (409).
            raise Conflict(f"You have {item.quantity} in your cart; at most {limit} of one "
                           "variant in all", field="quantity", code="too_many_units")
        _check_stock(session, offer, total)
        if item is None:
            cart.items.append(CartItem(variant_id=variant_id, quantity=total))
        else:
            item.quantity = total
        cart.updated_at = utcnow()
        record(session, CartItemAdded(actor.user_id, offer.product.id, offer.shop.id,
                                      market.code, quantity))
        session.flush()
        return _cart_view(session, cart, market)

    return _retry_on_race(db, work)


def _owned_item(session: Session, actor: Actor, market: Market, item_id: int
                ) -> tuple[Cart, CartItem]:
    cart = find_cart(session, actor.user_id, market.code)
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
            _check_stock(session, variant_in_market(session, item.variant_id, market), quantity)
        item.quantity = quantity
        session.flush()
        return _cart_view(session, cart, market)


def remove_item(db: Database, actor: Actor, market: Market, item_id: int) -> CartView:
    with db.transaction() as session:
        cart, item = _owned_item(session, actor, market, item_id)
        cart.items.remove(item)
        session.flush()
        return _cart_view(session, cart, market)


def remove_bought_from_cart(session: Session, checkout: Checkout, orders: list[Order]
                             ) -> None:
    """Take the paid units out of the cart; units added since checkout stay."""
    cart = find_cart(session, checkout.buyer_id, checkout.market)
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
