"""Live-show inputs and views."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from liveshop.checkout.schemas import Quantity
from liveshop.core.inputs import Id, JsonInput, MultiLine, Price, SingleLine, Timestamp
from liveshop.live.model import CHAT_MAX_LENGTH
from liveshop.markets.model import MarketCode

ShowTitle = Annotated[str, SingleLine(min_length=1, max_length=140)]
MAX_COMMISSION_PERCENT = 50
_PERCENT_TEXT = r"^(50(\.0{1,2})?|[1-4]?[0-9](\.[0-9]{1,2})?)$"
# How far from a whole hundredth a JSON number may be: 0.57 is 0.5700000000000001 in binary.
_FLOAT_SLACK = Decimal("1e-9")


def _percent(value: Any) -> Any:
    """A percentage with at most two decimals, as JSON sends it: a number or text."""
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "Give a percentage like 12.5")
    if isinstance(value, str) and not re.fullmatch(_PERCENT_TEXT, value):
        raise PydanticCustomError("decimal_parsing", "Give a percentage like 12.5, from 0 to "
                                  f"{MAX_COMMISSION_PERCENT} with at most two decimals")
    if isinstance(value, float) and 0 <= value <= MAX_COMMISSION_PERCENT:
        exact, hundredths = Decimal(value), round(Decimal(value), 2)
        return hundredths if abs(exact - hundredths) < _FLOAT_SLACK else exact
    return value  # out of range, or not a number: the bounds and the type refuse it


# A creator's commission (stored in basis points), stated in OpenAPI as it is checked.
CommissionPercent = Annotated[
    Decimal, Field(strict=False, ge=0, le=MAX_COMMISSION_PERCENT, decimal_places=2),
    BeforeValidator(_percent),
    WithJsonSchema({"anyOf": [
        {"type": "number", "minimum": 0, "maximum": MAX_COMMISSION_PERCENT,
         "multipleOf": 0.01},
        {"type": "string", "pattern": _PERCENT_TEXT, "maxLength": 5},
    ]}),
]
ShowDescription = Annotated[str, MultiLine(max_length=2000)]


class ShowCreate(JsonInput):
    shop_id: Id | None = Field(default=None, description=(
        "the shop whose show it is; null: a creator's own show, whose lineup takes any "
        "product they have an active affiliate plan for, from several shops"))
    title: ShowTitle
    description: ShowDescription = ""
    scheduled_at: Timestamp
    markets: list[MarketCode] = Field(min_length=1, max_length=6)
    product_ids: list[Id] = Field(default_factory=list, max_length=100)


class ShowUpdate(JsonInput):
    title: ShowTitle | None = None
    description: ShowDescription | None = None
    scheduled_at: Timestamp | None = None
    product_ids: list[Id] | None = Field(default=None, max_length=100)


class ShowView(BaseModel):
    id: int
    shop_id: int | None = Field(description="null: a creator's own multi-shop show")
    shop_name: str
    shop_slug: str | None = Field(description="the shop's page is at /{shop_slug}")
    host_id: int
    host_name: str
    title: str
    description: str
    markets: list[str]
    status: str
    scheduled_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    cover_url: str | None
    product_ids: list[int]
    url: str


class PinIn(JsonInput):
    product_id: Id | None = Field(description="null unpins")


class SaleIn(JsonInput):
    variant_id: Id
    prices: dict[MarketCode, Price] = Field(
        description="sale price per market, minor units: one for each of the show's markets, "
        "below the regular price")
    quantity: int = Field(ge=1, le=100_000)
    per_buyer_limit: int = Field(default=1, ge=1, le=100)
    duration_seconds: int = Field(ge=10, le=7200)


class SaleView(BaseModel):
    id: int
    show_id: int
    variant_id: int
    product_id: int
    title: str
    prices: dict[str, int]
    quantity: int
    remaining: int
    per_buyer_limit: int
    ends_at: datetime
    status: str


class ChatIn(JsonInput):
    # The chat's own rule (live/model.py, also over the WebSocket), stated for API clients.
    text: Annotated[str, SingleLine(min_length=1, max_length=CHAT_MAX_LENGTH)]


class ChatView(BaseModel):
    id: int
    user_id: int
    author: str
    text: str
    at: int = Field(description="server time, ms since epoch")


class MuteIn(JsonInput):
    user_id: Id
    minutes: int = Field(ge=1, le=24 * 60)


class UserRef(JsonInput):
    user_id: Id


class ModeratorIn(JsonInput):
    user: Annotated[str, SingleLine(min_length=1, max_length=254)] = Field(
        description="the person's display name or e-mail address")


class ModeratorView(BaseModel):
    user_id: int
    display_name: str


class SlowModeIn(JsonInput):
    seconds: int = Field(ge=0, le=300)


class BannedWordsIn(JsonInput):
    words: list[Annotated[str, SingleLine(max_length=60)]] = Field(max_length=500)


class BuyIn(JsonInput):
    variant_id: Id
    quantity: Quantity = Field(default=1, description=(
        "1 to LIVESHOP_MAX_UNITS_PER_VARIANT (10 by default), within the sale's per-buyer "
        "limit"))
    market: MarketCode | None = Field(default=None, description=(
        "The market whose prices the room shows (the snapshot's `market`), so that the tap "
        "buys what the buyer saw; the visitor's market when left out"))


class PurchaseProblem(BaseModel):
    code: str = Field(description="e.g. card_declined, out_of_stock")
    message: str
    field: str | None


class BuyView(BaseModel):
    """A tap's purchase. At a regular price it is paid before the answer (201). In a flash
    sale the answer comes once the units are claimed (202, ``pending``): checkout and payment
    follow within moments; follow ``GET /purchases/{purchase_id}`` until ``paid`` or
    ``failed`` (then the units went back to the sale)."""

    status: Literal["paid", "pending", "failed"]
    purchase_id: int | None = Field(description="set for flash-sale purchases")
    checkout_id: int | None
    order_numbers: list[str]
    total: int | None = Field(description="minor units; once paid")
    currency: str | None
    flash_sale_id: int | None
    error: PurchaseProblem | None = Field(default=None, description="why it failed")


class ShowStats(BaseModel):
    viewers: int
    orders: int
    revenue: dict[str, int] = Field(description="paid order totals per currency, minor units")



class ProposalView(BaseModel):
    """A flash sale a creator proposed for a shop's product in their own show; it starts
    only once the shop approved it (status ``approved``, then ``started``)."""

    id: int
    show_id: int
    show_title: str
    shop_id: int
    shop_name: str
    creator_id: int
    creator_name: str
    variant_id: int
    product_title: str
    prices: dict[str, int]
    prices_formatted: dict[str, str]
    quantity: int
    per_buyer_limit: int
    duration_seconds: int
    status: str = Field(description="proposed, approved, declined or started")
    sale_id: int | None
    created_at: datetime
    decided_at: datetime | None
