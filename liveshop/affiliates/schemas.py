"""The creator marketplace's and the affiliate page's API views."""

from __future__ import annotations

from pydantic import BaseModel

from liveshop.catalog.schemas import ProductCard
from liveshop.creators.schemas import PlanKind


class MarketplaceOfferView(BaseModel):
    product: ProductCard
    plan_id: int
    kind: PlanKind
    rate_bp: int
    sold_30_days: int
    in_showcase: bool
    share_url: str


class Done(BaseModel):
    ok: bool = True
