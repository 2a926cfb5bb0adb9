"""A variant as sold in one market: its price there, its shop's shipping there, why it
cannot be bought, and the stock left at regular prices."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.core.errors import NotFound
from liveshop.inventory.orm import StockLevel
from liveshop.markets.model import Market


@dataclass(frozen=True)
class VariantInMarket:
    variant: Variant
    product: Product
    shop: Shop
    unit_price: int | None
    shipping: int | None

    @property
    def variant_title(self) -> str:
        options = [o for o in (self.variant.option1, self.variant.option2, self.variant.option3)
                   if o]
        return " / ".join(options)

    @property
    def label(self) -> str:
        options = self.variant_title
        return f"{self.product.title} ({options})" if options else self.product.title

    def problem(self, market: Market) -> str | None:
        """Why this cannot be bought in the market at all (stock aside), or None."""
        if self.product.status != "active":
            return "No longer for sale"
        if self.shop.suspended_at is not None:
            return f"{self.shop.name} is not selling at the moment"
        if self.unit_price is None:
            return f"Not sold in {market.name}"
        if self.shipping is None:
            return f"{self.shop.name} does not ship to {market.name}"
        return None


def variant_in_market(session: Session, variant_id: int, market: Market, field: str = "variant_id"
           ) -> VariantInMarket:
    variant = session.get(Variant, variant_id)
    if variant is None:
        raise NotFound("No such product variant", field=field)
    shop = session.get(Shop, variant.shop_id)
    assert shop is not None
    price = next((p.amount_minor for p in variant.prices if p.market == market.code), None)
    shipping = next((m.shipping_minor for m in shop.markets if m.market == market.code), None)
    return VariantInMarket(variant, variant.product, shop, price, shipping)


def units_available(session: Session, variant_id: int) -> int:
    level = session.get(StockLevel, variant_id, populate_existing=True)
    return level.available if level is not None else 0


def stock_problem(available: int, quantity: int) -> str | None:
    if available <= 0:
        return "Sold out"
    if available < quantity:
        return f"Only {available} left"
    return None
