"""The reads behind the creator and affiliate pages, and approving a sample (an order made
through checkout). Each use case is one transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import Address, User
from liveshop.catalog import service as catalog
from liveshop.catalog.access import owned_shop
from liveshop.catalog.model import clean_tag
from liveshop.catalog.orm import Product, Variant
from liveshop.catalog.schemas import ProductCard
from liveshop.checkout.schemas import CheckoutIn
from liveshop.checkout.service import place_free_order, ship_to_address
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import InvalidInput
from liveshop.creators import samples, storefront
from liveshop.creators import service as plans
from liveshop.creators.model import MarketplaceSort, SampleStatus, check_rate
from liveshop.creators.orm import AffiliatePlan, ShowcaseItem
from liveshop.creators.schemas import CreatorCard, PlanKind, PlanView, SampleView
from liveshop.inventory.orm import StockLevel
from liveshop.live import follows, shows
from liveshop.live.shows import ShowDirectory
from liveshop.markets.model import Market, get_market
from liveshop.orders.commission import order_commissions
from liveshop.orders.model import OrderStatus
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.provider import PaymentProvider

# "Sorted by sales": units sold in this many days.
SALES_PERIOD = timedelta(days=30)
# The affiliate page looks this far back, week by week.
AFFILIATE_WEEKS = 12
# The orders it adds up at most (a page, not a report: the books have every line).
AFFILIATE_ORDERS = 500
SOLD = (OrderStatus.PAID.value, OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value)


# --- the creator's public page ---

@dataclass(frozen=True)
class CreatorPage:
    creator: CreatorCard
    followers: int
    following: bool
    shows: ShowDirectory
    showcase: list[ProductCard]
    is_self: bool


def creator_page(db: Database, actor: Actor | None, handle: str, market: Market
                 ) -> CreatorPage | None:
    """The creator's profile, shows and showcase (what is on sale in the market), or None
    when no creator has the handle."""
    with db.read() as session:
        creator = storefront.by_handle(session, handle)
        if creator is None:
            return None
        showcase = catalog.cards_on_sale(
            session, storefront.showcase_product_ids(session, creator.user_id, utcnow()),
            market)
    followers, following = follows.creator_followers(db, actor, creator.user_id)
    return CreatorPage(creator, followers, following,
                       shows.directory(db, None, host_id=creator.user_id, limit=12), showcase,
                       is_self=actor is not None and actor.user_id == creator.user_id)


# --- the creator marketplace ---

@dataclass(frozen=True)
class MarketplaceOffer:
    card: ProductCard
    plan_id: int
    kind: PlanKind
    rate_bp: int
    sold: int  # units sold in SALES_PERIOD
    in_showcase: bool
    variants: list[tuple[int, str, bool]]  # (variant id, title, in stock): for samples


@dataclass(frozen=True)
class Marketplace:
    creator: CreatorCard
    offers: list[MarketplaceOffer]
    invitations: list[PlanView]  # targeted plans waiting for the creator's acceptance
    samples: list[SampleView]
    tags: list[str] = field(default_factory=list)


def marketplace(db: Database, actor: Actor, market: Market, tag: str = "",
                min_rate_bp: int | None = None, sort: MarketplaceSort = MarketplaceSort.RATE
                ) -> Marketplace:
    """Products open to the creator (open plans, and targeted plans they accepted) on sale
    in the market, filtered by tag (category) and minimum rate, sorted by rate or by units
    sold in the last 30 days."""
    if min_rate_bp is not None and min_rate_bp != 0:
        check_rate(min_rate_bp, field="min_rate_bp")
    wanted_tag = clean_tag(tag) if tag else ""
    now = utcnow()
    with db.transaction() as session:
        user = storefront.creator_user(session, actor)
        me = storefront.ensure_profile(session, user)
        query = (select(AffiliatePlan.product_id, AffiliatePlan.id, AffiliatePlan.kind,
                        AffiliatePlan.rate_bp)
                 .where(storefront.active_for(user.id, now)))
        if min_rate_bp:
            query = query.where(AffiliatePlan.rate_bp >= min_rate_bp)
        best: dict[int, tuple[int, str, int]] = {}
        for product_id, plan_id, kind, rate_bp in session.execute(query):
            if product_id not in best or rate_bp > best[product_id][2]:
                best[product_id] = (plan_id, kind, rate_bp)
        if wanted_tag:
            tagged = set(session.scalars(select(Product.id).where(
                Product.id.in_(best), Product.tags.like(f"%,{wanted_tag},%"))))
            best = {key: value for key, value in best.items() if key in tagged}
        cards = {card.id: card for card in catalog.cards_on_sale(session, list(best), market)}
        sold = _units_sold(session, list(cards), now - SALES_PERIOD)
        showcased = set(session.scalars(select(ShowcaseItem.product_id).where(
            ShowcaseItem.creator_id == user.id)))
        variants = _variants(session, list(cards))
        offers = [MarketplaceOffer(card, best[product_id][0], PlanKind(best[product_id][1]),
                                   best[product_id][2], sold.get(product_id, 0),
                                   product_id in showcased, variants.get(product_id, []))
                  for product_id, card in cards.items()]
        if sort is MarketplaceSort.SALES:
            offers.sort(key=lambda offer: (-offer.sold, -offer.rate_bp, -offer.card.id))
        else:
            offers.sort(key=lambda offer: (-offer.rate_bp, -offer.sold, -offer.card.id))
        tags = sorted({tag for (tags,) in session.execute(select(Product.tags).where(
            Product.id.in_(best))) for tag in tags.strip(",").split(",") if tag})
        return Marketplace(creator=CreatorCard(user_id=user.id, handle=me.handle,
                                               display_name=user.display_name, bio=me.bio,
                                               avatar_path=me.avatar_path),
                           offers=offers, invitations=_invitations(session, user.id, now),
                           samples=samples.my_requests_in(session, user.id), tags=tags)


def _units_sold(session: Session, product_ids: list[int], since: datetime) -> dict[int, int]:
    return {product_id: int(units or 0) for product_id, units in session.execute(
        select(Variant.product_id, func.sum(OrderLine.quantity))
        .join(OrderLine, OrderLine.variant_id == Variant.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Variant.product_id.in_(product_ids), Order.status.in_(SOLD),
               Order.paid_at >= since)
        .group_by(Variant.product_id))}


def _variants(session: Session, product_ids: list[int]) -> dict[int, list[tuple[int, str, bool]]]:
    found: dict[int, list[tuple[int, str, bool]]] = defaultdict(list)
    for variant, available in session.execute(
            select(Variant, StockLevel.available)
            .outerjoin(StockLevel, StockLevel.variant_id == Variant.id)
            .where(Variant.product_id.in_(product_ids))
            .order_by(Variant.product_id, Variant.position, Variant.id)):
        title = " / ".join(o for o in (variant.option1, variant.option2, variant.option3)
                           if o) or variant.sku
        found[variant.product_id].append((variant.id, title, (available or 0) > 0))
    return dict(found)


def _invitations(session: Session, creator_id: int, now: datetime) -> list[PlanView]:
    rows = session.execute(
        select(AffiliatePlan, Product.title).join(Product, Product.id == AffiliatePlan.product_id)
        .where(AffiliatePlan.kind == PlanKind.TARGETED.value,
               AffiliatePlan.creator_id == creator_id, AffiliatePlan.accepted_at.is_(None),
               AffiliatePlan.paused.is_(False), AffiliatePlan.ends_at > now)
        .order_by(AffiliatePlan.id)).all()
    return [plans.plan_view(plan, title, now) for plan, title in rows]


# --- the seller's affiliate page ---

@dataclass
class Amounts:
    """Per currency: never added across currencies."""

    gmv: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    commission: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    orders: int = 0


@dataclass(frozen=True)
class PromotingCreator:
    creator: CreatorCard | None
    name: str
    amounts: Amounts


@dataclass(frozen=True)
class AffiliatePage:
    shop_id: int
    shop_name: str
    plans: list[PlanView]
    creators: list[PromotingCreator]
    weeks: list[tuple[datetime, Amounts]]  # newest first
    pending_samples: list[SampleView]
    decided_samples: list[SampleView]
    products: list[tuple[int, str]]
    since: datetime


def affiliate_page(db: Database, actor: Actor, shop_id: int) -> AffiliatePage:
    """The shop's plans, the creators whose links and shows sold its products (GMV: what
    the buyers paid for the attributed lines; orders; commission owed, net of clawbacks,
    from the books), week by week, and its sample requests."""
    now = utcnow()
    since = _week_start(now) - timedelta(weeks=AFFILIATE_WEEKS - 1)
    with db.read() as session:
        shop = owned_shop(session, actor, shop_id)
        orders = list(session.scalars(
            select(Order).where(Order.shop_id == shop_id, Order.paid_at >= since,
                                Order.id.in_(select(OrderLine.order_id).where(
                                    OrderLine.creator_id.is_not(None))))
            .order_by(Order.paid_at.desc()).limit(AFFILIATE_ORDERS)))
        by_creator: dict[int, Amounts] = defaultdict(Amounts)
        by_week: dict[datetime, Amounts] = defaultdict(Amounts)
        for order in orders:
            assert order.paid_at is not None
            week = by_week[_week_start(order.paid_at)]
            week.orders += 1
            counted: set[int] = set()
            for commission in order_commissions(session, order):
                line = next(line for line in order.lines if line.id == commission.line_id)
                gmv = line.line_total
                theirs = by_creator[commission.creator_id]
                if commission.creator_id not in counted:
                    theirs.orders += 1
                    counted.add(commission.creator_id)
                for amounts in (theirs, week):
                    amounts.gmv[order.currency] += gmv
                    amounts.commission[order.currency] += commission.net
        cards = storefront.cards_of(session, list(by_creator))
        names = dict(session.execute(select(User.id, User.display_name).where(
            User.id.in_(list(by_creator)))).all())
        creators = sorted(
            (PromotingCreator(cards.get(creator_id), names.get(creator_id, ""), amounts)
             for creator_id, amounts in by_creator.items()),
            key=lambda row: (-row.amounts.orders, row.name))
        plan_rows = session.execute(
            select(AffiliatePlan, Product.title).join(Product, Product.id ==
                                                      AffiliatePlan.product_id)
            .where(AffiliatePlan.shop_id == shop_id).order_by(AffiliatePlan.id)).all()
        requests = samples.shop_requests(session, shop_id)
        products = [(row.id, row.title) for row in session.execute(
            select(Product.id, Product.title).where(
                Product.shop_id == shop_id, Product.status == "active").order_by(Product.title))]
        return AffiliatePage(
            shop_id=shop.id, shop_name=shop.name,
            plans=[plans.plan_view(plan, title, now) for plan, title in plan_rows],
            creators=creators, weeks=sorted(by_week.items(), reverse=True),
            pending_samples=[r for r in requests if r.status == SampleStatus.REQUESTED],
            decided_samples=[r for r in requests if r.status != SampleStatus.REQUESTED],
            products=products, since=since)


def _week_start(moment: datetime) -> datetime:
    day = moment - timedelta(days=moment.weekday())
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


# --- approving a sample ---

def approve_sample(db: Database, payments: PaymentProvider, settings: Settings, actor: Actor,
                   request_id: int) -> SampleView:
    """The shop's owner approves: in one transaction the request is approved and a
    zero-price order of the shop is placed for the creator, shipped to their default
    address, taking the unit from stock like any order. Out of stock (or no address that
    the shop ships to) refuses it and leaves the request waiting."""
    with db.transaction() as session:
        request = samples.decide(session, actor, request_id, approve=True)
        creator = session.get_one(User, request.creator_id)
        address_id = session.scalar(
            select(Address.id).where(Address.user_id == creator.id)
            .order_by(Address.is_default.desc(), Address.id).limit(1))
        if address_id is None:
            raise InvalidInput("The creator has no shipping address", field="request_id")
        buyer = Actor(creator.id, Role(creator.role), creator.display_name)
        market = get_market(request.market)
        ship_to = ship_to_address(session, buyer, market, CheckoutIn(address_id=address_id))
        order = place_free_order(session, payments, settings, buyer, market,
                                 request.variant_id, ship_to, source="sample",
                                 field="request_id")
        request.order_id = order.id
        session.flush()
        return samples.view_of(session, request)

