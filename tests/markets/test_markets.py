from __future__ import annotations

from typing import Any

import pytest

from liveshop.core.errors import InvalidInput
from liveshop.markets.model import MARKETS, get_market, market_from_accept_language


def test_six_markets_with_currency_vat_and_display() -> None:
    expected = {"UK": ("GBP", 2000, True), "DE": ("EUR", 1900, True), "FR": ("EUR", 2000, True),
                "IT": ("EUR", 2200, True), "ES": ("EUR", 2100, True), "US": ("USD", 0, False)}
    actual = {code: (m.currency, m.vat_bp, m.tax_inclusive) for code, m in MARKETS.items()}
    assert actual == expected


def test_vat_contained_in_inclusive_prices() -> None:
    assert MARKETS["UK"].tax_of(2400) == 400
    assert MARKETS["DE"].tax_of(11900) == 1900
    assert MARKETS["IT"].tax_of(1000) == 180  # 1000 * 22 / 122 = 180.3
    assert MARKETS["US"].tax_of(5000) == 0


@pytest.mark.parametrize(("header", "market"), [
    (None, "UK"), ("de-DE,de;q=0.9,en;q=0.8", "DE"), ("en-US,en;q=0.9", "US"),
    ("fr;q=0.5, it;q=0.9", "IT"), ("ja,es;q=0.2", "ES"), ("ja", "UK"), ("en", "UK"),
    ("garbage;q=x", "UK"),
])
def test_market_from_accept_language(header: str | None, market: str) -> None:
    assert market_from_accept_language(header).code == market


def test_unknown_market_names_the_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        get_market("XX")
    assert raised.value.field == "market"


def test_visitor_market_from_header_then_remembered_choice(client: Any) -> None:
    assert client.get("/api/v1/market", headers={"Accept-Language": "de"}).json()["code"] == "DE"
    chosen = client.put("/api/v1/market", json={"market": "FR"})
    assert chosen.status_code == 200 and chosen.json()["currency"] == "EUR"
    assert client.get("/api/v1/market", headers={"Accept-Language": "de"}).json()["code"] == "FR"
    for code in ("JP", "fr"):  # one of the six codes, as OpenAPI lists them
        bad = client.put("/api/v1/market", json={"market": code})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "market"
