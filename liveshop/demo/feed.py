"""The feed's demo data: simulated shoppers with a known taste structure, so that the feed
is personal for the demo buyers and the recommender has something to recover.

Each simulated shopper (an anonymous visitor, ``demo-sim-NNNN``) has one taste, a group of
shops; most of what they click, watch, like, put in a cart and buy is of that taste, the
rest is anything. An item-to-item model trained on these events should therefore put a
taste's products next to each other, which popularity alone cannot: ``simulate`` returns
each shopper's taste with the events, for an evaluation to check against.

The demo buyers get a history of their own: Ben Carter (UK) looked at knitwear, Lena
Fischer (DE) follows Nina Live, the demo's creator, and Kiez Kollektiv. Written once."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from liveshop.accounts.orm import User
from liveshop.catalog.orm import Product, Shop, ShopMarket
from liveshop.core.db import Database, utcnow
from liveshop.feed import training
from liveshop.feed.ingest import EventWriter, Interaction
from liveshop.feed.model import EventKind, ItemType
from liveshop.feed.orm import FeedEvent
from liveshop.live.orm import CreatorFollow, ShopFollow

# Taste -> the shops (slugs) whose products it likes.
TASTES: Mapping[str, tuple[str, ...]] = {
    "knitwear": ("thames-and-thread",),
    "streetwear": ("kiez-kollektiv",),
    "home": ("bottega-lume", "casa-sol"),
    "coffee and coast": ("brooklyn-roast-supply", "harbour-and-pine"),
}
SHOPPERS = 400
ON_TASTE = 0.85
DAYS = 13
SIMULATED = "demo-sim-"
# What a shopper does, how often.
KINDS = ((EventKind.CLICK, 0.55), (EventKind.WATCH, 0.15), (EventKind.LIKE, 0.12),
         (EventKind.ADD_TO_CART, 0.12), (EventKind.PURCHASE, 0.06))


@dataclass(frozen=True)
class Shopper:
    visitor_id: str
    taste: str
    market: str


def simulate(products: Mapping[str, Sequence[tuple[int, str]]], now: datetime,
             shoppers: int = SHOPPERS, seed: int = 21
             ) -> tuple[list[Shopper], list[Interaction]]:
    """Shoppers and their events over the last ``DAYS``, from each taste's products
    ((product id, a market it sells in)); within a taste some products are far more
    popular than others (a Zipf-like skew), as in real shops."""
    rng = random.Random(seed)
    tastes = [taste for taste in TASTES if products.get(taste)]
    everything = [item for taste in tastes for item in products[taste]]
    people: list[Shopper] = []
    events: list[Interaction] = []
    kinds = [kind for kind, _ in KINDS]
    kind_weights = [weight for _, weight in KINDS]
    for number in range(shoppers):
        taste = rng.choice(tastes)
        own = products[taste]
        market = rng.choice(own)[1]
        person = Shopper(f"{SIMULATED}{number:04d}", taste, market)
        people.append(person)
        for _ in range(rng.randint(6, 16)):
            if rng.random() < ON_TASTE:
                product_id, _ = own[min(int(rng.paretovariate(1.2)) - 1, len(own) - 1)]
            else:
                product_id, _ = rng.choice(everything)
            kind = rng.choices(kinds, kind_weights)[0]
            events.append(Interaction(
                kind, ItemType.PRODUCT, product_id, visitor_id=person.visitor_id,
                market=market, occurred_at=now - timedelta(seconds=rng.uniform(0, DAYS * 86400)),
                value=rng.uniform(20, 240) if kind is EventKind.WATCH else 1.0))
    return people, events


def seed_feed(db: Database) -> None:
    with db.read() as session:
        if session.scalar(select(FeedEvent.id).where(
                FeedEvent.visitor_id.like(f"{SIMULATED}%")).limit(1)) is not None:
            return
        products: dict[str, list[tuple[int, str]]] = {}
        for taste, slugs in TASTES.items():
            products[taste] = [(product_id, market) for product_id, market in session.execute(
                select(Product.id, ShopMarket.market).join(Shop, Shop.id == Product.shop_id)
                .join(ShopMarket, ShopMarket.shop_id == Shop.id)
                .where(Shop.slug.in_(slugs), Product.status == "active")
                .order_by(Product.id, ShopMarket.market))]
        people = dict(session.execute(select(User.email, User.id).where(User.email.in_(
            ("ben@example.com", "lena@example.com", "nina@example.com")))).all())
        knitwear = [product_id for product_id, market in products["knitwear"]
                    if market == "UK"][:3]
        kiez = session.scalar(select(Shop.id).where(Shop.slug == "kiez-kollektiv"))
    now = utcnow()
    _, events = simulate(products, now)
    if "ben@example.com" in people:
        events += [Interaction(EventKind.CLICK, ItemType.PRODUCT, product_id,
                               user_id=people["ben@example.com"], market="UK",
                               occurred_at=now - timedelta(hours=n + 1))
                   for n, product_id in enumerate(knitwear)]
    writer = EventWriter(db)
    for start in range(0, len(events), writer.batch):
        writer.write(list(events[start:start + writer.batch]))
    lena, nina = people.get("lena@example.com"), people.get("nina@example.com")
    with db.transaction() as session:
        for buyer in (lena, people.get("ben@example.com")):
            if buyer is not None and nina is not None and session.get(
                    CreatorFollow, (buyer, nina)) is None:
                session.add(CreatorFollow(follower_id=buyer, creator_id=nina))
        if lena is not None and kiez is not None and session.get(
                ShopFollow, (lena, kiez)) is None:
            session.add(ShopFollow(follower_id=lena, shop_id=kiez))
    training.train(db)
