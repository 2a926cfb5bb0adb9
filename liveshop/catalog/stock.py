"""A shop's stock as its seller sees it: each variant's counters, and goods received.

The counters and their rules are liveshop.inventory's, which knows variants only by id;
this screen adds what only the catalog knows: whose shop it is and what the products are
called."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog import model
from liveshop.catalog.access import owned_shop, owned_variant
from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.core.db import Database
from liveshop.inventory import service as inventory
from liveshop.inventory.orm import StockLevel


@dataclass(frozen=True)
class StockView:
    variant_id: int
    sku: str
    product_title: str
    # "M / Black": which of the product's variants the row counts.
    variant_title: str
    available: int
    reserved: int
    sold: int
    held: int


def shop_stock(db: Database, actor: Actor, shop_id: int) -> list[StockView]:
    with db.read() as session:
        owned_shop(session, actor, shop_id)
        rows = session.execute(
            select(Variant, Product.title, StockLevel)
            .join(Product, Product.id == Variant.product_id)
            .outerjoin(StockLevel, StockLevel.variant_id == Variant.id)
            .where(Variant.shop_id == shop_id)
            .order_by(Product.title, Variant.position)
        ).all()
        return [
            StockView(variant.id, variant.sku, title, _variant_title(variant),
                      level.available if level else 0, level.reserved if level else 0,
                      level.sold if level else 0, level.held if level else 0)
            for variant, title, level in rows
        ]


@dataclass(frozen=True)
class LowStockView:
    variant_id: int
    shop_id: int
    shop_name: str
    product_id: int
    product_title: str
    variant_title: str
    sku: str
    available: int


def low_stock(session: Session, shop_ids: Sequence[int], at_most: int, limit: int
              ) -> tuple[int, list[LowStockView]]:
    """Variants of the shops' active products with ``at_most`` units left to sell or fewer
    (sold out included), the emptiest first: what to restock. A building block, in the
    caller's transaction."""
    low = (Variant.shop_id.in_(shop_ids), Product.status == model.ProductStatus.ACTIVE.value,
           func.coalesce(StockLevel.available, 0) <= at_most)
    joined = (select(func.count()).select_from(Variant)
              .join(Product, Product.id == Variant.product_id)
              .outerjoin(StockLevel, StockLevel.variant_id == Variant.id))
    count = session.scalar(joined.where(*low)) or 0
    # Columns, not Variant rows: those would load every variant's prices too.
    rows = session.execute(
        select(Variant.id, Variant.shop_id, Variant.product_id, Variant.sku, Variant.option1,
               Variant.option2, Variant.option3, Product.title, Shop.name,
               func.coalesce(StockLevel.available, 0))
        .join(Product, Product.id == Variant.product_id)
        .join(Shop, Shop.id == Variant.shop_id)
        .outerjoin(StockLevel, StockLevel.variant_id == Variant.id)
        .where(*low)
        .order_by(func.coalesce(StockLevel.available, 0), Product.title, Variant.position)
        .limit(limit)).all()
    return count, [LowStockView(row[0], row[1], row[8], row[2], row[7],
                                model.variant_title((row[4], row[5], row[6])), row[3], row[9])
                   for row in rows]


def receive_stock(db: Database, actor: Actor, variant_id: int, quantity: int,
                  note: str = "") -> StockView:
    with db.transaction() as session:
        variant = owned_variant(session, actor, variant_id)
        inventory.receive(session, variant_id, quantity, note=note or "received by seller")
        session.flush()
        level = session.get(StockLevel, variant_id, populate_existing=True)
        assert level is not None
        return StockView(variant.id, variant.sku, variant.product.title,
                         _variant_title(variant), level.available, level.reserved, level.sold,
                         level.held)


def _variant_title(variant: Variant) -> str:
    return model.variant_title((variant.option1, variant.option2, variant.option3))
