"""Build catalog data straight through the ORM, for tests of later stages (cart, orders...)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from liveshop.accounts import security
from liveshop.accounts.model import Actor
from liveshop.accounts.orm import Address, ApiToken, User
from liveshop.accounts.tokens import token_holders
from liveshop.catalog.orm import Product, Shop, ShopMarket, Variant, VariantPrice
from liveshop.core.db import Database
from liveshop.inventory import service as inventory
from liveshop.markets.model import MARKETS
from liveshop.payments.orm import PaymentMethod


@dataclass
class VariantSpec:
    prices: dict[str, int]  # market -> minor units
    stock: int = 10
    sku: str = ""
    option1: str | None = None
    compare_at: dict[str, int] = field(default_factory=dict)


def create_shop(db: Database, owner_id: int, shipping: dict[str, int] | None = None,
                name: str = "Test Shop") -> int:
    shipping = shipping or {"UK": 399, "DE": 499}
    with db.transaction() as session:
        shop = Shop(owner_id=owner_id, name=name, slug=f"shop-{uuid.uuid4().hex[:8]}")
        shop.markets = [ShopMarket(market=m, shipping_minor=s) for m, s in shipping.items()]
        session.add(shop)
        session.flush()
        return shop.id


def create_product(db: Database, shop_id: int, variants: list[VariantSpec] | None = None,
                   title: str = "Test Tee", tags: str = ",tee,", status: str = "active"
                   ) -> tuple[int, list[int]]:
    """Returns (product_id, [variant_id, ...])."""
    variants = variants or [VariantSpec(prices={"UK": 1999, "DE": 2299})]
    with db.transaction() as session:
        product = Product(shop_id=shop_id, title=title, tags=tags, status=status,
                          option1_name="Size" if any(v.option1 for v in variants) else None)
        session.add(product)
        session.flush()
        ids = []
        for position, spec in enumerate(variants):
            variant = Variant(product_id=product.id, shop_id=shop_id, position=position,
                              sku=spec.sku or f"SKU-{uuid.uuid4().hex[:8]}", option1=spec.option1)
            variant.prices = [
                VariantPrice(market=m, currency=MARKETS[m].currency, amount_minor=amount,
                             compare_at_minor=spec.compare_at.get(m))
                for m, amount in spec.prices.items()
            ]
            session.add(variant)
            session.flush()
            inventory.ensure_level(session, variant.id)
            if spec.stock:
                inventory.receive(session, variant.id, spec.stock, note="test")
            ids.append(variant.id)
        return product.id, ids


_BUYER_PASSWORD_HASH = security.hash_password("not-used-by-these-buyers")


def make_buyers(db: Database, count: int) -> list[str]:
    """Buyers with a default UK address and saved card, built directly (signing 300 people
    up through argon2 would only test hashing). Returns their API tokens."""
    tokens = []
    with db.transaction() as session:
        for index in range(count):
            user = User(email=f"flash-{index}-{uuid.uuid4().hex[:6]}@example.com",
                        display_name=f"Buyer {index}", password_hash=_BUYER_PASSWORD_HASH)
            session.add(user)
            session.flush()
            session.add(Address(user_id=user.id, full_name=user.display_name, line1="1 St",
                                city="Leeds", postcode="LS1 1AA", country="GB",
                                is_default=True))
            session.add(PaymentMethod(user_id=user.id, provider="test",
                                      token=f"tok_test_ok_{uuid.uuid4().hex[:8]}",
                                      brand="visa", last4="4242", exp_month=12, exp_year=2030,
                                      is_default=True))
            token = security.new_api_token()
            session.add(ApiToken(user_id=user.id, name="t", token_hash=security.token_digest(token),
                                 prefix=token[:10]))
            tokens.append(token)
    return tokens


def actor_of_token(db: Database, token: str) -> Actor | None:
    """Who an API token acts for, looked up directly (requests use accounts.tokens)."""
    digest = security.token_digest(token)
    holder = token_holders(db, [digest]).get(digest)
    return holder.actor if holder is not None else None
