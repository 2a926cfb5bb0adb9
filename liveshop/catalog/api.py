"""Catalog JSON API: shops, products, variants, images, browsing, and the seller's stock."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, Field

from liveshop.catalog import service, stock
from liveshop.catalog.schemas import (
    ImageView,
    ProductCard,
    ProductCreate,
    ProductPage,
    ProductUpdate,
    ProductView,
    ShopCreate,
    ShopMarketIn,
    ShopUpdate,
    ShopView,
    VariantsReplace,
)
from liveshop.core.inputs import Id, JsonInput, SingleLine
from liveshop.markets.model import Market, MarketCode, get_market
from liveshop.web.deps import Context, CurrentActor, CurrentMarket, MaybeActor

router = APIRouter(tags=["catalog"])

MarketParam = Annotated[
    MarketCode | None, Query(description="Market code; defaults to the visitor's market")
]
SearchWords = Annotated[str, SingleLine(max_length=100)]
SearchTag = Annotated[str, SingleLine(max_length=40)]


def chosen_market(code: str | None, default: Market) -> Market:
    return get_market(code) if code else default


@router.post("/shops", status_code=201, response_model=ShopView)
def create_shop(data: ShopCreate, actor: CurrentActor, context: Context) -> ShopView:
    return service.create_shop(context.db, actor, data)


@router.get("/shops/mine", response_model=list[ShopView])
def my_shops(actor: CurrentActor, context: Context) -> list[ShopView]:
    return service.my_shops(context.db, actor)


# ":int": /shops/mine is not a shop id, so PATCH /shops/mine is a 405, not a 422 (the
# OpenAPI document says /shops/mine has GET alone).
@router.get("/shops/{shop_id:int}", response_model=ShopView)
def get_shop(shop_id: Id, context: Context) -> ShopView:
    return service.get_shop(context.db, shop_id)


@router.patch("/shops/{shop_id:int}", response_model=ShopView)
def update_shop(shop_id: Id, data: ShopUpdate, actor: CurrentActor,
                context: Context) -> ShopView:
    return service.update_shop(context.db, actor, shop_id, data)


@router.put("/shops/{shop_id}/markets", response_model=ShopView)
def set_markets(shop_id: Id, markets: list[ShopMarketIn], actor: CurrentActor,
                context: Context) -> ShopView:
    return service.set_markets(context.db, actor, shop_id, markets)


@router.post("/shops/{shop_id}/products", status_code=201, response_model=ProductView)
def create_product(shop_id: Id, data: ProductCreate, actor: CurrentActor, context: Context,
                   visitor_market: CurrentMarket) -> ProductView:
    return service.create_product(context.db, actor, shop_id, data, visitor_market)


@router.get("/shops/{shop_id}/products", response_model=list[ProductCard])
def shop_products(shop_id: Id, actor: MaybeActor, context: Context,
                  visitor_market: CurrentMarket, market: MarketParam = None
                  ) -> list[ProductCard]:
    return service.shop_products(context.db, actor, shop_id,
                                 chosen_market(market, visitor_market))


@router.get("/products", response_model=ProductPage)
def browse(
    context: Context,
    visitor_market: CurrentMarket,
    market: MarketParam = None,
    q: Annotated[SearchWords, Query(description="Words in the title or tags")] = "",
    tag: Annotated[SearchTag, Query()] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)] = 24,
) -> ProductPage:
    return service.browse(context.db, chosen_market(market, visitor_market), q=q, tag=tag,
                          page=page, per_page=per_page)


@router.get("/products/{product_id}", response_model=ProductView)
def get_product(product_id: Id, actor: MaybeActor, context: Context,
                visitor_market: CurrentMarket, market: MarketParam = None) -> ProductView:
    return service.get_product(context.db, actor, product_id,
                               chosen_market(market, visitor_market))


@router.patch("/products/{product_id}", response_model=ProductView)
def update_product(product_id: Id, data: ProductUpdate, actor: CurrentActor,
                   context: Context, visitor_market: CurrentMarket) -> ProductView:
    return service.update_product(context.db, actor, product_id, data, visitor_market)


@router.put("/products/{product_id}/variants", response_model=ProductView)
def replace_variants(product_id: Id, data: VariantsReplace, actor: CurrentActor,
                     context: Context, visitor_market: CurrentMarket) -> ProductView:
    return service.replace_variants(context.db, actor, product_id, data, visitor_market)


@router.post("/products/{product_id}/images", status_code=201, response_model=ImageView)
def add_image(
    product_id: Id,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    actor: CurrentActor,
    context: Context,
    alt: Annotated[str, SingleLine(max_length=200), Form()] = "",
) -> ImageView:
    # One byte over the limit is enough to know it is too large, without reading it all.
    data = file.file.read(context.settings.max_upload_bytes + 1)
    return service.add_image(context.db, context.settings, actor, product_id, data, alt)


@router.delete("/products/{product_id}/images/{image_id}", status_code=204)
def delete_image(product_id: Id, image_id: Id, actor: CurrentActor,
                 context: Context) -> None:
    service.delete_image(context.db, context.settings, actor, product_id, image_id)


# --- the seller's stock (liveshop/catalog/stock.py), tagged "inventory" in the API docs ---

stock_router = APIRouter(tags=["inventory"])


class StockOut(BaseModel):
    variant_id: int
    sku: str
    product_title: str
    available: int
    reserved: int
    sold: int
    held: int = Field(description="set aside for flash sales (unclaimed or not yet paid)")


class Receipt(JsonInput):
    quantity: int = Field(gt=0, le=1_000_000)
    note: Annotated[str, SingleLine(max_length=200)] = ""


@stock_router.get("/shops/{shop_id}/stock", response_model=list[StockOut])
def shop_stock(shop_id: Id, actor: CurrentActor, context: Context) -> list[StockOut]:
    return [StockOut(**asdict(v)) for v in stock.shop_stock(context.db, actor, shop_id)]


@stock_router.post("/variants/{variant_id}/stock/receipts", status_code=201,
                   response_model=StockOut)
def receive(variant_id: Id, data: Receipt, actor: CurrentActor, context: Context) -> StockOut:
    view = stock.receive_stock(context.db, actor, variant_id, data.quantity, data.note)
    return StockOut(**asdict(view))
