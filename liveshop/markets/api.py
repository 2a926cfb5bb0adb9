"""Markets: list them; remember the visitor's choice."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from liveshop.core.inputs import JsonInput, Price
from liveshop.markets.model import (
    EXCHANGE_RATES,
    MARKETS,
    MarketCode,
    derivation_rule,
    derive_prices,
    get_market,
)
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


class DerivedPriceView(BaseModel):
    market: str
    currency: str
    amount: int = Field(description="Minor units")
    compare_at: int | None = Field(description="Minor units; none when it would not be "
                                   "above the price")
    formatted: str


class DerivedPrices(BaseModel):
    market: str = Field(description="The market whose price the others are worked out from")
    rule: str
    rates_as_of: date
    prices: list[DerivedPriceView]


@router.get("/markets/{market}/derived-prices", response_model=DerivedPrices)
def derived_prices(market: Annotated[MarketCode, Path()],
                   amount: Annotated[Price, Query(description="Minor units in the market")],
                   compare_at: Annotated[Price | None, Query()] = None) -> DerivedPrices:
    """The other markets' prices worked out from one market's price (the product form's
    suggestion; the seller may set each one differently): the price before VAT at fixed,
    dated exchange rates, plus each market's VAT, rounded up to the next .99."""
    source = get_market(market)
    targets = [other for other in MARKETS.values() if other.code != source.code]
    return DerivedPrices(
        market=source.code, rule=derivation_rule(), rates_as_of=EXCHANGE_RATES.as_of,
        prices=[DerivedPriceView(market=p.market, currency=p.currency, amount=p.amount,
                                 compare_at=p.compare_at,
                                 formatted=MARKETS[p.market].format(p.amount))
                for p in derive_prices(amount, compare_at, source, targets)])
