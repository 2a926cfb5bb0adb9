"""Affiliate plan inputs and views (the API's and the pages')."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from liveshop.core.inputs import Id, JsonInput, Timestamp
from liveshop.creators.model import MAX_RATE_BP, MIN_RATE_BP

# The rule itself (1% to 80%), stated so that generated clients know it; the service's
# ``check_rate`` holds callers that do not come through this schema to the same bounds.
RateInput = Annotated[int, Field(ge=MIN_RATE_BP, le=MAX_RATE_BP)]


class PlanKind(StrEnum):
    OPEN = "open"  # any creator, one rate
    TARGETED = "targeted"  # one invited creator, their own rate, until an end date


class PlanIn(JsonInput):
    """A plan for one of the shop's products. ``rate_bp``: 100 to 8000 (1% to 80%),
    checked by the service so the error names the field. A targeted plan names its
    ``creator_id`` and ``ends_at``; an open plan has neither."""

    product_id: Id
    kind: PlanKind = Field(strict=False)
    rate_bp: RateInput
    creator_id: Id | None = None
    ends_at: Timestamp | None = None


class PlanChange(JsonInput):
    """Only the fields sent change. A new rate applies to sales paid after it."""

    rate_bp: RateInput | None = None
    paused: bool | None = None
    ends_at: Timestamp | None = None


class PlanView(BaseModel):
    id: int
    shop_id: int
    product_id: int
    product_title: str
    kind: PlanKind
    creator_id: int | None
    rate_bp: int
    paused: bool
    ends_at: datetime | None
    # A targeted plan once its creator accepted it; an open plan always.
    accepted: bool
    # Whether it earns commission now: accepted, not paused and not past its end.
    active: bool
    created_at: datetime
    updated_at: datetime


class CreatorCard(BaseModel):
    """Who a buyer buys through, and whose page and links these are."""

    user_id: int
    handle: str
    display_name: str
    bio: str
    avatar_path: str | None

    @property
    def page_url(self) -> str:
        return f"/@{self.handle}"


class ClickIn(JsonInput):
    """A buyer followed a creator's share link (``ref``, their handle) to a product or a
    show. A ``ref`` that names no creator is refused naming the field."""

    ref: Annotated[str, Field(min_length=1, max_length=100)]
    product_id: Id | None = None
    show_id: Id | None = None


class ClickView(BaseModel):
    creator: CreatorCard
    product_id: int | None
    show_id: int | None


class SampleIn(JsonInput):
    """A free unit of a product's variant, to be shipped to the creator in ``market``."""

    variant_id: Id
    note: Annotated[str, Field(max_length=500)] = ""


class SampleView(BaseModel):
    id: int
    creator_id: int
    creator_name: str
    shop_id: int
    product_id: int
    product_title: str
    variant_id: int
    market: str
    note: str
    status: str
    order_id: int | None
    created_at: datetime
    decided_at: datetime | None
class PlannedProduct(BaseModel):
    """A product a creator may put in their own show's lineup (an active plan for them),
    at its best plan rate."""

    product_id: int
    title: str
    shop_id: int
    shop_name: str
    rate_bp: int
