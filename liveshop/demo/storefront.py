"""The demo creator's storefront: Nina's handle and bio, her showcase, shows she hosts (one
coming up, one to replay), buyers who followed her share links (and bought through some,
so the shop's affiliate page has creators, GMV and commission), a targeted plan waiting for
her to accept, and samples: one approved (a free order to ship), one waiting for the
seller. Through the same use cases as the pages' clicks, once: when Nina's showcase is
empty."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import Address, User
from liveshop.affiliates import service as affiliates
from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.creators import samples
from liveshop.creators import storefront as creators
from liveshop.creators.orm import AffiliatePlan, ShowcaseItem
from liveshop.creators.schemas import SampleIn
from liveshop.creators.storefront import Landing
from liveshop.demo.journeys import CREATOR_SHOP, OrderPlan, ShowPlan, add_show, place_order
from liveshop.inventory.orm import StockLevel
from liveshop.markets.model import MARKETS
from liveshop.payments.provider import TestPaymentProvider

BIO = ("Knitwear nerd and live-shopping host from London. Honest try-ons, sizing tips and "
       "the pieces I actually wear.")
NINA_ADDRESS = ("7 Columbia Road", "London", "E2 7RG", "GB")
# Positions among the shop's products that Nina promotes.
SHOWCASE = (0, 1, 2, 3, 5)
NINA_SHOWS = (
    ShowPlan(CREATOR_SHOP[1], "Nina tries on: merino week", ("UK", "DE", "US"), 50,
             "Every jumper in the showcase, on camera, with sizing notes."),
    ShowPlan(CREATOR_SHOP[1], "Nina's scarf styling hour", ("UK", "FR"), -3 * 24,
             "Ten ways to tie a scarf, and which one goes with what.", 44),
)
# (buyer, product position, buys it): clicks on Nina's links in the last days.
CLICKS = (("ben@example.com", 0, True), ("ben@example.com", 2, False),
          ("lena@example.com", 1, True), ("lena@example.com", 3, False))
TARGETED_SHOP = "kiez-kollektiv"  # invites Nina at 18% on its first product


def seed_creator_storefront(db: Database, settings: Settings) -> None:
    email, slug, _ = CREATOR_SHOP
    with db.transaction() as session:
        nina = session.scalars(select(User).where(User.email == email)).first()
        shop = session.scalars(select(Shop).where(Shop.slug == slug)).first()
        if nina is None or shop is None or session.scalar(select(exists().where(
                ShowcaseItem.creator_id == nina.id))):
            return
        creators.ensure_profile(session, nina).bio = BIO
        if not session.scalar(select(exists().where(Address.user_id == nina.id))):
            line1, city, postcode, country = NINA_ADDRESS
            session.add(Address(user_id=nina.id, full_name=nina.display_name, line1=line1,
                                city=city, postcode=postcode, country=country,
                                is_default=True))
        for number, plan in enumerate(NINA_SHOWS):
            add_show(session, shop, plan, utcnow(), number + 1, host_id=nina.id)
        products = list(session.scalars(select(Product.id).where(
            Product.shop_id == shop.id, Product.status == "active").order_by(Product.id)))
        buyers = {user.email: user for user in session.scalars(select(User).where(
            User.email.in_({buyer for buyer, _, _ in CLICKS})))}
        _invite(session, nina.id)
        nina_actor = Actor(nina.id, Role.CREATOR, nina.display_name)
        seller = Actor(shop.owner_id, Role.SELLER)
    for position in SHOWCASE:
        if position < len(products):
            creators.set_in_showcase(db, nina_actor, products[position])
    handle = creators.my_card(db, nina_actor).handle
    payments = TestPaymentProvider(settings.test_provider_url or None)
    for number, (buyer_email, position, buys) in enumerate(CLICKS):
        buyer = buyers.get(buyer_email)
        if buyer is None or position >= len(products):
            continue
        creators.land(db, handle, buyer.id, None, Landing(product_id=products[position]))
        if buys:
            market = "UK" if buyer.email.startswith("ben") else "DE"
            place_order(db, settings, payments, Actor(buyer.id, Role.BUYER, buyer.display_name),
                        shop.id, OrderPlan(buyer.email, slug, market, (position,), "paid"),
                        f"demo-via-nina-{number}")
    # A few visitors who have not signed in followed her profile's links too.
    for visitor in ("demo-visitor-1", "demo-visitor-2", "demo-visitor-3"):
        creators.land(db, handle, None, visitor, Landing(product_id=products[SHOWCASE[0]]))
    _samples(db, settings, payments, nina_actor, seller, products)


def _invite(session: Session, nina_id: int) -> None:
    shop = session.scalars(select(Shop).where(Shop.slug == TARGETED_SHOP)).first()
    if shop is None:
        return
    product_id = session.scalar(select(Product.id).where(
        Product.shop_id == shop.id, Product.status == "active").order_by(Product.id))
    if product_id is not None:
        session.add(AffiliatePlan(shop_id=shop.id, product_id=product_id, kind="targeted",
                                  creator_id=nina_id, rate_bp=1800, paused=False,
                                  ends_at=utcnow() + timedelta(days=60)))


def _samples(db: Database, settings: Settings, payments: TestPaymentProvider, nina: Actor,
             seller: Actor, products: list[int]) -> None:
    """One sample approved (a free order the seller ships like any), one waiting."""
    market = MARKETS["UK"]
    with db.read() as session:
        # Variants with units to send (the seed sells some out).
        variants = [session.scalar(select(Variant.id).join(
            StockLevel, StockLevel.variant_id == Variant.id).where(
            Variant.product_id == products[position], StockLevel.available > 1)
            .order_by(Variant.position)) for position in SHOWCASE[:2]]
    requested = [samples.request_sample(db, nina, market, SampleIn(
        variant_id=variant_id, note=note)) for variant_id, note in zip(
        [v for v in variants if v is not None],
        ("For my merino try-on show next week", "Would love to style this one live"),
        strict=False)]
    if requested:
        affiliates.approve_sample(db, payments, settings, seller, requested[0].id)
