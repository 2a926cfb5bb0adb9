"""Shopify import test helpers: the fixture files, and imports run through the use cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from liveshop.accounts.model import Actor
from liveshop.catalog.orm import Product, Variant
from liveshop.core.db import Database
from liveshop.integrations.shopify import imports
from liveshop.inventory.orm import StockLevel

FIXTURES = Path(__file__).parent / "fixtures"


def run(db: Database, actor: Actor, shop_id: int, name: str, market: str = "UK",
        dry: bool = False) -> imports.ImportReport:
    with (FIXTURES / name).open(encoding="utf-8-sig", newline="") as text:
        if dry:
            return imports.dry_run(db, actor, shop_id, text, market)
        run_id = imports.start_run(db, actor, shop_id, market, name, "0" * 64, 0)
        return imports.run_import(db, actor, shop_id, text, market, run_id)


def catalog_state(db: Database, shop_id: int) -> list[Any]:
    """Everything an import may write, to compare before and after."""
    with db.read() as session:
        products = session.scalars(select(Product).where(Product.shop_id == shop_id)
                                   .order_by(Product.id)).all()
        levels = {level.variant_id: level.available
                  for level in session.scalars(select(StockLevel))}
        return [
            (p.id, p.title, p.description, p.tags, p.status, p.updated_at,
             [(v.id, v.sku, v.option1, v.option2, v.weight_grams, levels.get(v.id),
               sorted((pr.market, pr.amount_minor, pr.compare_at_minor) for pr in v.prices))
              for v in p.variants])
            for p in products
        ]


def variants_by_sku(db: Database, shop_id: int) -> dict[str, Variant]:
    with db.read() as session:
        return {v.sku: v for v in session.scalars(select(Variant).where(
            Variant.shop_id == shop_id))}
