"""The markets liveshop sells in: currency, language, VAT and how prices are displayed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from liveshop.core.errors import InvalidInput
from liveshop.core.inputs import OneOf
from liveshop.core.money import Money, divide_half_up


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
