"""Jinja2 templates with the helpers every page uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from liveshop.core.money import Money
from liveshop.markets.addresses import address_lines, country_name
from liveshop.markets.model import MARKETS
from liveshop.web.deps import context_of, csrf_token, market_of

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _page_context(request: Request) -> dict[str, Any]:
    market = market_of(request)
    return {
        "market": market,
        "markets": list(MARKETS.values()),
        "actor": getattr(request.state, "actor", None),
        "csrf_token": csrf_token(request),
        # The most units of one variant a buyer may add or buy (checkout/model.py).
        "max_units": context_of(request).settings.max_units_per_variant,
    }


PageContext = Callable[[Request], dict[str, Any]]
# What packages above the web kit add to every page (the cart badge, from checkout): they
# register it here with add_page_context, since the kit cannot import them.
_ADDED: list[PageContext] = []


def add_page_context(provider: PageContext) -> None:
    if provider not in _ADDED:
        _ADDED.append(provider)


def _added_context(request: Request) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for provider in _ADDED:
        merged.update(provider(request))
    return merged


templates = Jinja2Templates(directory=str(TEMPLATES_DIR),
                            context_processors=[_page_context, _added_context])


def format_money(amount: int, currency: str, locale: str = "en-GB") -> str:
    return Money(amount, currency).format(locale)


templates.env.globals["format_money"] = format_money
templates.env.globals["address_lines"] = address_lines
templates.env.globals["country_name"] = country_name


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)
