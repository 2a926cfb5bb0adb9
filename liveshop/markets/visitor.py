"""The market a request is for: the one the visitor chose with the picker (kept in the
session), else the one their browser's preferred language points to, else the UK."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from liveshop.markets.model import MARKETS, Market, market_from_accept_language

# The session key of the visitor's choice (kept across signing in and out).
MARKET_CHOICE = "market"


def market_of(request: Request) -> Market:
    chosen = request.session.get(MARKET_CHOICE)
    if isinstance(chosen, str) and chosen in MARKETS:
        return MARKETS[chosen]
    return market_from_accept_language(request.headers.get("accept-language"))


async def current_market(request: Request) -> Market:
    return market_of(request)


CurrentMarket = Annotated[Market, Depends(current_market)]
