"""The demo's fees and incentives, set through the back office's own use cases (so the
audit log shows them): the new-seller fee holiday, on which Harbour & Pine (the shop just
brought over from Shopify) runs while the five older shops pay the market fee; a bonus
campaign on Nina Live's sales; and the voucher codes buyers can type at checkout (the
checkout page and /admin/incentives show them). Ben has used LIVE5 once, so the books and
the admin page show a voucher's spend. It runs once: when there is no LIVE5 voucher yet."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import Address, User
from liveshop.admin import incentives as back_office
from liveshop.catalog.orm import Product, Shop, Variant, VariantPrice
from liveshop.checkout import carts
from liveshop.checkout import service as checkout
from liveshop.checkout.schemas import CardIn, CheckoutIn, PayIn
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.incentives.model import Campaign, FeeHoliday, VoucherTerms
from liveshop.incentives.orm import Voucher
from liveshop.inventory.orm import StockLevel
from liveshop.markets.model import MARKETS
from liveshop.payments.provider import TestPaymentProvider

VOUCHER_CODE = "LIVE5"
NEW_SELLER_SLUG = "harbour-and-pine"
HOLIDAY = FeeHoliday(60, {"GBP": 100_000, "EUR": 100_000, "USD": 100_000})
# The demo's older shops opened this long before today: past any fee holiday.
ESTABLISHED = timedelta(days=400)
TEST_CARD = CardIn(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")


def seed_incentives(db: Database, settings: Settings) -> None:
    with db.read() as session:
        if session.scalar(select(Voucher.id).where(Voucher.code == VOUCHER_CODE)):
            return
        admin = session.scalars(select(User).where(User.role == Role.ADMIN.value)
                                .order_by(User.id)).first()
        nina = session.scalar(select(User.id).where(User.email == "nina@example.com"))
        if admin is None:
            return
        actor = Actor(admin.id, Role.ADMIN, admin.display_name)
    with db.transaction() as session:
        session.execute(update(Shop).where(Shop.slug != NEW_SELLER_SLUG)
                        .values(created_at=utcnow() - ESTABLISHED))
    now = utcnow()
    back_office.set_holiday(db, actor, HOLIDAY, "Win new sellers: the pilot's terms")
    back_office.set_fee(db, actor, "US", 600, "US pilot rate")
    back_office.create_campaign(db, actor, "Nina's launch bonus", Campaign(
        "UK", 300, 20_000, now - timedelta(days=1), now + timedelta(days=30), nina))
    back_office.create_voucher(db, actor, "Live shopping week (UK)", VoucherTerms(
        "UK", 50_000, now - timedelta(days=1), now + timedelta(days=30), code=VOUCHER_CODE,
        amount_off=500, min_basket=2_500, per_buyer_limit=3))
    back_office.create_voucher(db, actor, "Live shopping week (Germany)", VoucherTerms(
        "DE", 50_000, now - timedelta(days=1), now + timedelta(days=30), code="LIVE5DE",
        amount_off=500, min_basket=2_500, per_buyer_limit=3))
    _ben_uses_the_voucher(db, settings)


def _ben_uses_the_voucher(db: Database, settings: Settings) -> None:
    """Ben buys two of Thames & Thread's products with LIVE5."""
    market = MARKETS["UK"]
    with db.read() as session:
        ben = session.scalars(select(User).where(User.email == "ben@example.com")).first()
        if ben is None:
            return
        variants = list(session.scalars(
            select(Variant.id).join(Product, Product.id == Variant.product_id)
            .join(Shop, Shop.id == Product.shop_id)
            .join(StockLevel, StockLevel.variant_id == Variant.id)
            .where(Shop.slug == "thames-and-thread", StockLevel.available > 0,
                   Variant.prices.any(VariantPrice.market == market.code))
            .order_by(Variant.id.desc()).limit(2)))
        address_id = session.scalar(select(Address.id).where(
            Address.user_id == ben.id, Address.is_default.is_(True)))
        buyer = Actor(ben.id, Role.BUYER, ben.display_name)
    for variant_id in variants:
        carts.add_item(db, settings, buyer, market, variant_id, 1)
    created = checkout.checkout_result(checkout.create_checkout(
        db, settings, buyer, market, CheckoutIn(address_id=address_id,
                                                voucher_code=VOUCHER_CODE),
        "demo-voucher-checkout"))
    payments = TestPaymentProvider(settings.test_provider_url or None)
    checkout.checkout_result(checkout.pay_checkout(
        db, payments, settings, buyer, created.id, PayIn(card=TEST_CARD), "demo-voucher-pay"))
