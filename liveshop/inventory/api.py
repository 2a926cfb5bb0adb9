"""Seller stock API: see stock per variant and receive goods."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from liveshop.core.inputs import SingleLine
from liveshop.inventory import service
from liveshop.web.deps import Context, CurrentActor

router = APIRouter(tags=["inventory"])


class StockOut(BaseModel):
    variant_id: int
    sku: str
    product_title: str
    available: int
    reserved: int
    sold: int
    held: int = Field(description="set aside for flash sales (unclaimed or not yet paid)")


class Receipt(BaseModel):
    quantity: int = Field(gt=0, le=1_000_000)
    note: Annotated[str, SingleLine(max_length=200)] = ""


@router.get("/shops/{shop_id}/stock", response_model=list[StockOut])
def shop_stock(shop_id: int, actor: CurrentActor, context: Context) -> list[StockOut]:
    return [StockOut(**asdict(v)) for v in service.shop_stock(context.db, actor, shop_id)]


@router.post("/variants/{variant_id}/stock/receipts", status_code=201, response_model=StockOut)
def receive(variant_id: int, data: Receipt, actor: CurrentActor, context: Context) -> StockOut:
    view = service.receive_stock(context.db, actor, variant_id, data.quantity, data.note)
    return StockOut(**asdict(view))
