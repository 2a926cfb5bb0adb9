"""The markets liveshop sells in: currency, language, VAT and how prices are displayed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from liveshop.core.errors import InvalidInput
from liveshop.core.inputs import OneOf
from liveshop.core.money import MAX_MINOR_UNITS, Money, divide_half_up


@dataclass(frozen=True)
class Market:
    code: str
    name: str
    currency: str
    locale: str
    # Standard VAT in basis points (20% = 2000). The US has no VAT; state sales tax is
    # not collected by liveshop (sellers handle it), so its rate is 0 and prices show pre-tax.
    vat_bp: int
    tax_inclusive: bool
    # EU and UK distance sales carry a 14-day right of withdrawal after delivery.
    withdrawal_days: int | None

    def tax_of(self, amount: int) -> int:
        """VAT contained in (inclusive markets) or added to (exclusive markets) an amount."""
        if self.vat_bp == 0:
            return 0
        if self.tax_inclusive:
            return divide_half_up(amount * self.vat_bp, 10_000 + self.vat_bp)
        return divide_half_up(amount * self.vat_bp, 10_000)

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)

    def format(self, amount: int) -> str:
        return self.money(amount).format(self.locale)

    @property
    def vat_percent(self) -> str:
        whole, rest = divmod(self.vat_bp, 100)
        return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


MARKETS: dict[str, Market] = {
    m.code: m
    for m in (
        Market("UK", "United Kingdom", "GBP", "en-GB", 2000, True, 14),
        Market("DE", "Deutschland", "EUR", "de-DE", 1900, True, 14),
        Market("FR", "France", "EUR", "fr-FR", 2000, True, 14),
        Market("IT", "Italia", "EUR", "it-IT", 2200, True, 14),
        Market("ES", "España", "EUR", "es-ES", 2100, True, 14),
        Market("US", "United States", "USD", "en-US", 0, False, None),
    )
}
DEFAULT_MARKET = "UK"
# A market code in a schema: one of MARKETS, as written (OpenAPI lists them).
MarketCode = Annotated[str, OneOf(tuple(MARKETS))]
# ISO 3166 country of a shipping address -> market it is sold in.
COUNTRY_TO_MARKET = {"GB": "UK", "DE": "DE", "FR": "FR", "IT": "IT", "ES": "ES", "US": "US"}
# A shipping address's country in a schema: one liveshop ships to, ISO 3166-1 alpha-2.
CountryCode = Annotated[str, OneOf(tuple(COUNTRY_TO_MARKET))]


def get_market(code: str, field: str = "market") -> Market:
    market = MARKETS.get(code.upper()) if code else None
    if market is None:
        raise InvalidInput(
            f"Unknown market {code!r}; choose one of {', '.join(MARKETS)}", field=field
        )
    return market


def market_from_accept_language(header: str | None) -> Market:
    """Pick the market whose language the visitor prefers most (RFC 9110 q-values)."""
    if not header:
        return MARKETS[DEFAULT_MARKET]
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        market = _market_for_language_tag(tag)
        if market is not None:
            return market
    return MARKETS[DEFAULT_MARKET]


def _market_for_language_tag(tag: str) -> Market | None:
    language, _, region = tag.partition("-")
    if language == "en":
        return MARKETS["US"] if region == "us" else MARKETS["UK"]
    by_language = {"de": "DE", "fr": "FR", "it": "IT", "es": "ES"}
    code = by_language.get(language)
    return MARKETS[code] if code else None


# --- prices derived from one market's price (the seller's product form) ---
#
# A seller types one price, in the shop's main market; the other markets' prices are worked
# out from it, shown, and may each be changed before saving. The rule, also stated on the
# form and in docs/architecture.md:
#   1. take the price before VAT (an inclusive price less the VAT it contains; a US price
#      is already before sales tax),
#   2. convert it at the fixed rates below,
#   3. add the target market's VAT (none in the US),
#   4. round UP to the next price ending in .99 (24.10 -> 24.99; 24.99 stays 24.99).
# So a German and a French shopper pay the same net price with their own VAT (19% and 20%),
# and no derived price is below the converted one. All integer arithmetic, no floats.


@dataclass(frozen=True)
class ExchangeRates:
    """Fixed rates from configuration, dated: liveshop never asks the network for a rate,
    so a price worked out today is worked out the same tomorrow. Change them here, with a
    new date, when they drift."""

    as_of: date
    # Minor units of each currency that one million minor units of EUR buy.
    per_million_eur: dict[str, int]

    def describe(self) -> str:
        def decimal(millionths: int) -> str:
            whole, rest = divmod(millionths, 1_000_000)
            return f"{whole}.{rest:06d}".rstrip("0").rstrip(".")

        parts = [f"{decimal(self.per_million_eur[code])} {code}"
                 for code in sorted(self.per_million_eur) if code != "EUR"]
        return f"1 EUR = {' = '.join(parts)} (fixed rates of {self.as_of.isoformat()})"


EXCHANGE_RATES = ExchangeRates(date(2026, 12, 1),
                               {"EUR": 1_000_000, "GBP": 870_000, "USD": 1_160_000})
# Derived prices end in this many minor units: x.99.
PRICE_ENDING = 99
PRICE_POINT_STEP = 100
BASIS = 10_000


def round_up_to_price_point(amount: int) -> int:
    """The smallest amount ending in .99 that is not below ``amount``."""
    return amount + (PRICE_ENDING - amount % PRICE_POINT_STEP) % PRICE_POINT_STEP


def _gross_factor(market: Market) -> int:
    """What a price before VAT is multiplied by (over BASIS) to be shown in the market."""
    return BASIS + market.vat_bp if market.tax_inclusive else BASIS


def converted_exactly(amount: int, source: Market, target: Market,
                      rates: ExchangeRates = EXCHANGE_RATES) -> tuple[int, int]:
    """``amount`` shown in ``source`` as a price shown in ``target``, exactly, as the
    fraction (numerator, denominator): same net price, converted, with the target's VAT."""
    numerator = amount * rates.per_million_eur[target.currency] * _gross_factor(target)
    denominator = rates.per_million_eur[source.currency] * _gross_factor(source)
    return numerator, denominator


def derive_price(amount: int, source: Market, target: Market,
                 rates: ExchangeRates = EXCHANGE_RATES) -> int:
    """The price in ``target`` worked out from ``amount`` in ``source`` (minor units both).
    The source market itself keeps the price as typed."""
    if target.code == source.code:
        return amount
    numerator, denominator = converted_exactly(amount, source, target, rates)
    return round_up_to_price_point(-(-numerator // denominator))


@dataclass(frozen=True)
class DerivedPrice:
    market: str
    currency: str
    amount: int
    compare_at: int | None


def derive_prices(amount: int, compare_at: int | None, source: Market,
                  targets: list[Market], rates: ExchangeRates = EXCHANGE_RATES
                  ) -> list[DerivedPrice]:
    """Each target's price and "was" price. A "was" price that rounds to the price itself
    is dropped: a struck-out price must be above the price. A market where the price would
    pass the largest amount a price may be (``MAX_MINOR_UNITS``) is left out, and so is such
    a "was" price: the seller sets that market's price or leaves it unsold there."""
    derived = []
    for target in targets:
        price = derive_price(amount, source, target, rates)
        if price > MAX_MINOR_UNITS:
            continue
        was = None if compare_at is None else derive_price(compare_at, source, target, rates)
        if was is not None and was > MAX_MINOR_UNITS:
            was = None
        derived.append(DerivedPrice(target.code, target.currency, price,
                                    was if was is not None and was > price else None))
    return derived


def derivation_rule(rates: ExchangeRates = EXCHANGE_RATES) -> str:
    """The rule in words, for the form."""
    return ("Other markets: the price before VAT, converted at "
            f"{rates.describe()}, plus each market's VAT (none in the US), rounded up to "
            "the next .99.")
