"""Catalog inputs and views, shared by the JSON API and the HTML pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from liveshop.catalog.model import (
    MAX_OPTION_LENGTH,
    MAX_OPTIONS,
    MAX_SKU_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    ProductStatus,
)
from liveshop.core.inputs import Grams, JsonInput, MinorUnits, MultiLine, Price, SingleLine
from liveshop.markets.model import MarketCode

ShopName = Annotated[str, SingleLine(min_length=1, max_length=100)]
ShopDescription = Annotated[str, MultiLine(max_length=5000)]
ProductTitle = Annotated[str, SingleLine(min_length=1, max_length=200)]
ProductDescription = Annotated[str, MultiLine(max_length=20_000)]
# A blank tag is dropped; commas separate tags in forms and in storage.
Tag = Annotated[str, SingleLine(max_length=MAX_TAG_LENGTH, refuse=",")]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]
# An option's name (Size) or a variant's value of it (M).
OptionText = Annotated[str, SingleLine(min_length=1, max_length=MAX_OPTION_LENGTH)]
OptionNames = Annotated[list[OptionText], Field(max_length=MAX_OPTIONS,
                                                description="Up to 3 option names")]
Variants = Annotated[list["VariantIn"], Field(min_length=1,
                                              description="At least one; each gives one "
                                              "value per option name")]


class ShopMarketIn(JsonInput):
    market: MarketCode = Field(description="Market code, e.g. DE")
    shipping: MinorUnits = Field(
        description="Flat shipping in minor units of the market's currency")


class ShopCreate(JsonInput):
    name: ShopName
    description: ShopDescription = ""
    markets: list[ShopMarketIn] = Field(default_factory=list)


class ShopUpdate(JsonInput):
    name: ShopName | None = None
    description: ShopDescription | None = None


class ShopMarketView(BaseModel):
    market: str
    currency: str
    shipping: int
    shipping_formatted: str


class ShopView(BaseModel):
    id: int
    owner_id: int
    name: str
    slug: str
    description: str
    markets: list[ShopMarketView]
    created_at: datetime
    suspended_at: datetime | None = Field(
        default=None, description="Set while a platform admin has the shop suspended")


class PriceIn(JsonInput):
    amount: Price = Field(description="Minor units of the market's currency")
    compare_at: Price | None = Field(default=None, description=(
        "Former price, shown struck out: above the price"))


class VariantIn(JsonInput):
    sku: Annotated[str, SingleLine(min_length=1, max_length=MAX_SKU_LENGTH)]
    options: list[OptionText] = Field(default_factory=list,
                                      description="One value per option name")
    weight_grams: Grams = 0
    prices: dict[MarketCode, PriceIn] = Field(default_factory=dict,
                                              description="Keyed by market code")


class ProductCreate(JsonInput):
    title: ProductTitle
    description: ProductDescription = ""
    tags: Tags = Field(default_factory=list)
    status: ProductStatus = Field(default=ProductStatus.DRAFT, strict=False)
    options: OptionNames = Field(default_factory=list)
    variants: Variants


class ProductUpdate(JsonInput):
    title: ProductTitle | None = None
    description: ProductDescription | None = None
    tags: Tags | None = None
    status: ProductStatus | None = Field(default=None, strict=False)


class VariantsReplace(JsonInput):
    options: OptionNames | None = Field(
        default=None, description="New option names; omitted keeps the current ones")
    variants: Variants


class PriceView(BaseModel):
    market: str
    currency: str
    amount: int
    compare_at: int | None
    formatted: str
    compare_at_formatted: str | None


class VariantView(BaseModel):
    id: int
    sku: str
    title: str
    options: list[str]
    weight_grams: int
    prices: dict[str, PriceView]
    price: PriceView | None = Field(description="Price in the requested market")
    available: int
    stock_label: str


class ImageView(BaseModel):
    id: int
    url: str
    alt: str
    width: int
    height: int
    content_type: str


class ProductView(BaseModel):
    id: int
    shop_id: int
    shop_name: str
    shop_slug: str = Field(description="the shop's page is at /{shop_slug}")
    title: str
    description: str
    tags: list[str]
    status: ProductStatus
    options: list[str]
    market: str
    tax_note: str
    variants: list[VariantView]
    images: list[ImageView]
    created_at: datetime
    updated_at: datetime


class ProductCard(BaseModel):
    """A product in a listing, priced in one market."""

    id: int
    title: str
    status: ProductStatus
    shop_id: int
    shop_name: str
    market: str
    currency: str | None
    price: int | None = Field(description="Lowest variant price in the market (minor units)")
    compare_at: int | None
    price_formatted: str | None
    compare_at_formatted: str | None
    price_varies: bool = Field(description="Variants differ in price: show 'from'")
    tax_note: str
    image_url: str | None
    image_alt: str
    in_stock: bool


class ProductPage(BaseModel):
    items: list[ProductCard]
    total: int
    page: int
    per_page: int
    market: str
