"""Prices worked out from one market's price: the properties the product form relies on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from liveshop.core.money import MAX_MINOR_UNITS
from liveshop.markets.model import (
    EXCHANGE_RATES,
    MARKETS,
    Market,
    converted_exactly,
    derive_price,
    derive_prices,
    round_up_to_price_point,
)

amounts = st.integers(min_value=1, max_value=MAX_MINOR_UNITS)
markets: st.SearchStrategy[Market] = st.sampled_from(list(MARKETS.values()))


@given(amounts, markets, markets)
def test_a_derived_price_is_never_below_the_converted_price_and_ends_in_99(
        amount: int, source: Market, target: Market) -> None:
    derived = derive_price(amount, source, target)
    if source == target:
        assert derived == amount
        return
    numerator, denominator = converted_exactly(amount, source, target)
    # Not below the exact price (so the net the seller gets is not below the converted
    # net), and less than one price step above it.
    assert derived * denominator >= numerator
    assert (derived - 100) * denominator < numerator
    assert derived % 100 == 99


@given(amounts, amounts, markets, markets)
def test_deriving_is_monotone(a: int, b: int, source: Market, target: Market) -> None:
    low, high = sorted((a, b))
    assert derive_price(low, source, target) <= derive_price(high, source, target)


@given(amounts, markets, markets)
def test_deriving_is_deterministic(amount: int, source: Market, target: Market) -> None:
    assert derive_price(amount, source, target) == derive_price(amount, source, target)


def net_eur(amount: int, source: Market) -> tuple[int, int]:
    """The source price before VAT, in EUR, exactly: (numerator, denominator)."""
    gross = 10_000 + source.vat_bp if source.tax_inclusive else 10_000
    return (amount * EXCHANGE_RATES.per_million_eur["EUR"] * 10_000,
            EXCHANGE_RATES.per_million_eur[source.currency] * gross)


@given(amounts, markets)
def test_eurozone_shoppers_pay_the_same_net_with_their_own_vat(amount: int,
                                                                source: Market) -> None:
    eurozone = [MARKETS[code] for code in ("DE", "FR", "ES", "IT")]  # VAT 19, 20, 21, 22
    prices = {p.market: p.amount for p in derive_prices(amount, None, source, eurozone)}
    numerator, denominator = net_eur(amount, source)
    for market in eurozone:
        if market.code not in prices:  # left out only past the largest price
            assert derive_price(amount, source, market) > MAX_MINOR_UNITS
        elif market != source:
            # What stays after the market's VAT is at least the converted net price.
            assert prices[market.code] * 10_000 * denominator >= (
                numerator * (10_000 + market.vat_bp))
    if source not in eurozone:
        # One net price: a higher VAT never gives a lower price.
        ordered = [prices[code] for code in ("DE", "FR", "ES", "IT") if code in prices]
        assert ordered == sorted(ordered)


def test_worked_examples() -> None:
    uk, de, fr, us = MARKETS["UK"], MARKETS["DE"], MARKETS["FR"], MARKETS["US"]
    # £29.99 is £24.99 before VAT = €28.72 at 0.87; +19% = €34.18 -> €34.99
    assert derive_price(2999, uk, de) == 3499
    # €29.99 in DE is €25.20 before VAT; +20% in France = €30.24 -> €30.99
    assert derive_price(2999, de, fr) == 3099
    # before sales tax in the US: €25.20 x 1.16 = $29.24 -> $29.99
    assert derive_price(2999, de, us) == 2999
    assert round_up_to_price_point(2400) == 2499
    assert round_up_to_price_point(2499) == 2499
    assert round_up_to_price_point(2500) == 2599


def test_a_was_price_that_rounds_onto_the_price_is_dropped() -> None:
    uk, de = MARKETS["UK"], MARKETS["DE"]
    [kept] = derive_prices(2999, 4999, uk, [de])
    assert (kept.amount, kept.compare_at) == (3499, 5699)
    [dropped] = derive_prices(2901, 2950, uk, [de])
    assert dropped.amount == 3399 and dropped.compare_at is None
