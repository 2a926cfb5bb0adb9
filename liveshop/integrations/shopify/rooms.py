"""Live rooms hear of stock a Shopify count changed: a room showing the product gets the
variants' new stock, as after a sale (``StockChanged``, after the commit)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveshop.catalog.orm import Variant
from liveshop.core.events import record
from liveshop.live.events import StockChanged
from liveshop.live.model import ShowStatus
from liveshop.live.orm import Show, ShowProduct
from liveshop.live.sales import variant_stock


def tell_rooms(session: Session, variant_ids: list[int]) -> None:
    shown: dict[int, list[int]] = defaultdict(list)
    for show_id, variant_id in session.execute(
            select(ShowProduct.show_id, Variant.id)
            .join(Show, Show.id == ShowProduct.show_id)
            .join(Variant, Variant.product_id == ShowProduct.product_id)
            .where(Show.status == ShowStatus.LIVE, Variant.id.in_(variant_ids))):
        shown[show_id].append(variant_id)
    for show_id, variants in shown.items():
        record(session, StockChanged.of_variants(show_id, variant_stock(session, variants)))
