"""Markets: list them; remember the visitor's choice."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from liveshop.core.inputs import JsonInput
from liveshop.markets.model import MARKETS, MarketCode, get_market
from liveshop.markets.visitor import CurrentMarket

router = APIRouter(tags=["markets"])


class MarketView(BaseModel):
    code: str
    name: str
    currency: str
    locale: str
    vat_rate_percent: str
    tax_inclusive: bool
    withdrawal_days: int | None


def view(code: str) -> MarketView:
    market = MARKETS[code]
    return MarketView(
        code=market.code, name=market.name, currency=market.currency, locale=market.locale,
        vat_rate_percent=market.vat_percent, tax_inclusive=market.tax_inclusive,
        withdrawal_days=market.withdrawal_days,
    )


class MarketChoice(JsonInput):
    market: MarketCode


@router.get("/markets", response_model=list[MarketView])
def list_markets() -> list[MarketView]:
    return [view(code) for code in MARKETS]


@router.get("/market", response_model=MarketView)
def current(market: CurrentMarket) -> MarketView:
    return view(market.code)


@router.put("/market", response_model=MarketView)
def choose(data: MarketChoice, request: Request) -> MarketView:
    market = get_market(data.market)
    request.session["market"] = market.code
    return view(market.code)
