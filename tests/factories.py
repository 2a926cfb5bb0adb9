"""Build catalog data straight through the ORM, for tests of later stages (cart, orders...)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from liveshop.catalog.orm import Product, Shop, ShopMarket, Variant, VariantPrice
from liveshop.core.db import Database
from liveshop.inventory import service as inventory
from liveshop.markets.model import MARKETS


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
