"""The seller home's one read: what waits for the seller across all their shops."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from liveshop.accounts.model import Actor
from liveshop.catalog import service as catalog
from liveshop.catalog import stock
from liveshop.catalog.schemas import ShopView
from liveshop.catalog.stock import LowStockView
from liveshop.core.db import Database
from liveshop.live import shows
from liveshop.live.schemas import ShowView
from liveshop.orders import service as orders
from liveshop.orders.schemas import OrderSummary
from liveshop.orders.service import ReturnToDecide
from liveshop.seller.model import (
    LIST_LENGTH,
    LOW_STOCK_AT,
    CurrencySales,
    sales_by_currency,
    start_of_day,
)


@dataclass(frozen=True)
class SellerHome:
    shops: list[ShopView]
    to_ship_count: int = 0
    to_ship: list[OrderSummary] = field(default_factory=list)
    returns_count: int = 0
    returns: list[ReturnToDecide] = field(default_factory=list)
    low_stock_count: int = 0
    low_stock: list[LowStockView] = field(default_factory=list)
    # Live ones first, then the scheduled ones, soonest first.
    shows: list[ShowView] = field(default_factory=list)
    sales_today: list[CurrencySales] = field(default_factory=list)
    today_from: datetime | None = None

    @property
    def next_show(self) -> ShowView | None:
        return self.shows[0] if self.shows else None

    @property
    def nothing_to_do(self) -> bool:
        return not (self.to_ship_count or self.returns_count or self.low_stock_count)


def seller_home(db: Database, actor: Actor, now: datetime) -> SellerHome:
    """Orders to ship, returns to decide, low stock, the next shows and today's sales of
    every shop the actor owns, in one read transaction and a fixed number of queries
    however many shops, orders or variants there are."""
    with db.read() as session:
        shops = catalog.owned_shops(session, actor)
        if not shops:
            return SellerHome(shops=[])
        shop_ids = [shop.id for shop in shops]
        to_ship_count, to_ship = orders.to_ship(session, shop_ids, LIST_LENGTH)
        returns_count, returns = orders.returns_to_decide(session, shop_ids, LIST_LENGTH)
        low_count, low = stock.low_stock(session, shop_ids, LOW_STOCK_AT, LIST_LENGTH)
        since = start_of_day(now)
        return SellerHome(
            shops=shops, to_ship_count=to_ship_count, to_ship=to_ship,
            returns_count=returns_count, returns=returns, low_stock_count=low_count,
            low_stock=low, shows=shows.coming_up(session, shop_ids, 3),
            sales_today=sales_by_currency(orders.sales_since(session, shop_ids, since)),
            today_from=since)
