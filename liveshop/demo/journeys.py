"""What the demo's people have already done, so that every page has something to show: shows
scheduled and shows to replay on the shop pages and /shows, and orders in each state
(paid, shipped, delivered, a return to decide, returned and refunded) for the demo buyers
and their sellers, and the demo creator invited to host a shop's shows; two shops' products
are open to creators for a commission (the demo creator's own show sells both).

The orders go through the same use cases as a buyer's and a seller's clicks (cart, checkout,
payment with the test provider, shipping, delivery, return, refund), so their timelines,
stock and payments are what the app itself writes. Each part runs once: shows when the
demo shops have none, orders when the demo buyer has none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import Address, User
from liveshop.catalog.orm import Product, Shop, Variant, VariantPrice
from liveshop.checkout import carts
from liveshop.checkout import service as checkout
from liveshop.checkout.schemas import CardIn, CheckoutIn, PayIn
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.creators.orm import AffiliatePlan
from liveshop.inventory.orm import StockLevel
from liveshop.live.orm import ShopCreator, Show, ShowPin, ShowProduct
from liveshop.markets.model import MARKETS
from liveshop.orders import service as orders
from liveshop.orders.schemas import RefundIn, ReturnIn, ShipIn
from liveshop.payments.provider import TestPaymentProvider

TEST_CARD = CardIn(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")


@dataclass(frozen=True)
class ShowPlan:
    shop: str  # slug
    title: str
    markets: tuple[str, ...]
    # Hours from now: ahead for an upcoming show, behind for one to replay.
    hours: float
    description: str = ""
    minutes_long: int = 45


SHOWS = (
    ShowPlan("thames-and-thread", "Winter knits preview", ("UK", "DE", "FR", "US"), 26,
             "First look at the cable knits and the new merino scarves, with try-ons."),
    ShowPlan("thames-and-thread", "Sunday denim clinic", ("UK", "US"), 74,
             "Fits, washes and how to hem raw denim at home."),
    ShowPlan("thames-and-thread", "Autumn layers live", ("UK", "DE", "FR"), -7 * 24,
             "Shackets, overshirts and what to wear under them.", 52),
    ShowPlan("thames-and-thread", "Tee restock party", ("UK", "US"), -15 * 24,
             "Every colour back in stock, and a flash sale on the heavyweight tee.", 38),
    ShowPlan("kiez-kollektiv", "Kreuzberg print drop", ("DE", "FR"), 50,
             "New screen prints from the studio, pressed live."),
    ShowPlan("kiez-kollektiv", "Hoodie season", ("DE", "IT", "ES"), -4 * 24, "", 41),
    ShowPlan("bottega-lume", "Ceramics from the kiln", ("IT", "FR", "DE"), 98,
             "Opening the kiln on camera: lamps, bowls and seconds."),
    ShowPlan("casa-sol", "Summer linen, last pieces", ("ES", "IT"), -10 * 24, "", 33),
    ShowPlan("brooklyn-roast-supply", "Cupping with Maya", ("US",), 30,
             "Three new single origins, brewed three ways."),
)


def seed_journeys(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        shops = {shop.slug: shop for shop in session.scalars(select(Shop).where(
            Shop.slug.in_({plan.shop for plan in SHOWS})))}
        has_shows = session.scalar(select(func.count()).select_from(Show).where(
            Show.shop_id.in_([shop.id for shop in shops.values()])))
        if shops and not has_shows:
            for number, plan in enumerate(SHOWS):
                if plan.shop in shops:
                    add_show(session, shops[plan.shop], plan, utcnow(), number)
            _invite_creator(session, shops)
            _open_to_creators(session, shops)
    _seed_orders(db, settings)


def add_show(session: Session, shop: Shop, plan: ShowPlan, now: datetime, number: int,
             host_id: int | None = None) -> Show:
    products = list(session.scalars(select(Product.id).where(
        Product.shop_id == shop.id, Product.status == "active").order_by(Product.id)))
    # Each show leads with another product (its cover is its first product's picture).
    start = number * 3 % max(len(products), 1)
    lineup = (products[start:] + products[:start])[:4]
    # On the hour, as a seller would schedule it.
    scheduled = (now + timedelta(hours=plan.hours)).replace(minute=0, second=0, microsecond=0)
    show = Show(shop_id=shop.id, host_id=host_id or shop.owner_id, title=plan.title,
                description=plan.description, markets="," + ",".join(plan.markets) + ",",
                scheduled_at=scheduled, status="scheduled")
    if plan.hours < 0:
        show.status, show.started_at = "ended", scheduled
        show.ended_at = scheduled + timedelta(minutes=plan.minutes_long)
    session.add(show)
    session.flush()
    for position, product_id in enumerate(lineup):
        session.add(ShowProduct(show_id=show.id, product_id=product_id, position=position))
        if show.started_at is not None and show.ended_at is not None:
            # The replay's timeline: each product pinned in turn while the show ran.
            step = (show.ended_at - show.started_at) / (len(lineup) + 1)
            pinned = show.started_at + step * (position + 0.5)
            session.add(ShowPin(show_id=show.id, product_id=product_id, pinned_at=pinned,
                                unpinned_at=pinned + step))
    return show


def _invite_creator(session: Session, shops: dict[str, Shop]) -> None:
    email, slug, commission_bp = CREATOR_SHOP
    creator_id = session.scalar(select(User.id).where(User.email == email))
    if creator_id is not None and slug in shops:
        session.add(ShopCreator(shop_id=shops[slug].id, creator_id=creator_id,
                                commission_bp=commission_bp))


def _open_to_creators(session: Session, shops: dict[str, Shop]) -> None:
    """The shop that invited the demo creator opens its products to every creator, and a
    second shop opens its own at another rate: the demo creator's own show sells both."""
    for slug, rate_bp in OPEN_PLANS:
        if slug not in shops:
            continue
        shop = shops[slug]
        for product_id in session.scalars(select(Product.id).where(
                Product.shop_id == shop.id, Product.status == "active").order_by(Product.id)):
            session.add(AffiliatePlan(shop_id=shop.id, product_id=product_id, kind="open",
                                      rate_bp=rate_bp, paused=False))


@dataclass(frozen=True)
class OrderPlan:
    buyer: str  # e-mail
    shop: str  # slug
    market: str
    products: tuple[int, ...]  # positions among the shop's products
    # How far the order gets: paid, shipped, delivered, return requested (delivered, the
    # return not yet decided) or refunded (returned, then refunded).
    reaches: str


ORDERS = (
    OrderPlan("ben@example.com", "thames-and-thread", "UK", (0, 2), "refunded"),
    OrderPlan("ben@example.com", "thames-and-thread", "UK", (1,), "delivered"),
    OrderPlan("ben@example.com", "thames-and-thread", "UK", (3, 4), "shipped"),
    OrderPlan("ben@example.com", "thames-and-thread", "UK", (5,), "paid"),
    OrderPlan("lena@example.com", "kiez-kollektiv", "DE", (0, 1), "delivered"),
    OrderPlan("lena@example.com", "thames-and-thread", "DE", (6,), "paid"),
    # Delivered, and the buyer asked to send it back: a return for the seller to decide.
    OrderPlan("ben@example.com", "thames-and-thread", "UK", (7,), "return requested"),
)
# The demo creator hosts for this shop, so a creator's pages have a shop to schedule for.
CREATOR_SHOP = ("nina@example.com", "thames-and-thread", 1000)
# ... and opens its products to any creator at 12%, as Kiez Kollektiv does at 15%: the demo
# creator's own show sells both shops' products and earns those rates.
OPEN_PLANS = (("thames-and-thread", 1200), ("kiez-kollektiv", 1500))


def _seed_orders(db: Database, settings: Settings) -> None:
    with db.read() as session:
        people = {user.email: user for user in session.scalars(select(User).where(
            User.email.in_({plan.buyer for plan in ORDERS})))}
        shops = {shop.slug: shop for shop in session.scalars(select(Shop).where(
            Shop.slug.in_({plan.shop for plan in ORDERS})))}
        ben = people.get(ORDERS[0].buyer)
        if ben is None or len(shops) < 2 or orders.list_buyer_orders(
                db, Actor(ben.id, Role.BUYER), limit=1):
            return
        owners = {shop.owner_id: session.get_one(User, shop.owner_id)
                  for shop in shops.values()}
        sellers = {slug: Actor(shop.owner_id, Role.SELLER, owners[shop.owner_id].display_name)
                   for slug, shop in shops.items()}
    payments = TestPaymentProvider(settings.test_provider_url or None)
    for number, plan in enumerate(ORDERS):
        buyer = people[plan.buyer]
        order_id = place_order(db, settings, payments,
                               Actor(buyer.id, Role.BUYER, buyer.display_name),
                               shops[plan.shop].id, plan, f"demo-order-{number}")
        _fulfil(db, settings, payments, sellers[plan.shop], Actor(buyer.id, Role.BUYER),
                order_id, plan.reaches, number)


def place_order(db: Database, settings: Settings, payments: TestPaymentProvider, buyer: Actor,
           shop_id: int, plan: OrderPlan, key: str) -> int:
    market = MARKETS[plan.market]
    with db.read() as session:
        products = list(session.scalars(select(Product.id).where(
            Product.shop_id == shop_id).order_by(Product.id)))
        # A variant priced in the market with units to sell (the seed sells some out).
        variants = [session.scalars(
            select(Variant.id).join(StockLevel, StockLevel.variant_id == Variant.id)
            .where(Variant.product_id == products[position], StockLevel.available > 0,
                   Variant.prices.any(VariantPrice.market == market.code))
            .order_by(Variant.position)).first() for position in plan.products]
        address_id = session.scalar(select(Address.id).where(
            Address.user_id == buyer.user_id, Address.is_default.is_(True)))
    for variant_id in variants:
        if variant_id is not None:
            carts.add_item(db, settings, buyer, market, variant_id, 1)
    created = checkout.checkout_result(checkout.create_checkout(
        db, settings, buyer, market, CheckoutIn(address_id=address_id), f"{key}-checkout"))
    checkout.checkout_result(checkout.pay_checkout(
        db, payments, settings, buyer, created.id, PayIn(card=TEST_CARD), f"{key}-pay"))
    return created.orders[0].id


def _fulfil(db: Database, settings: Settings, payments: TestPaymentProvider, seller: Actor,
            buyer: Actor, order_id: int, reaches: str, number: int) -> None:
    if reaches == "paid":
        return
    orders.ship(db, seller, order_id, ShipIn(carrier="Royal Mail",
                                              tracking_number=f"RM{48213370 + number}GB"))
    if reaches == "shipped":
        return
    orders.deliver(db, seller, order_id)
    if reaches == "delivered":
        return
    detail = orders.request_return(db, buyer, order_id,
                                   ReturnIn(reason="The jumper is a size too small."))
    if reaches == "return requested":
        return
    orders.decide_return(db, seller, detail.returns[0].id, approve=True)
    orders.refund(db, payments, settings, seller, order_id, RefundIn(full=True),
                  f"demo-refund-{number}")
