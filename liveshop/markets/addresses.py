"""Postal addresses as each country writes them, and countries named in the reader's language
(Babel's CLDR data). Pure: no HTTP, no SQL.

Carriers read the town and postcode line by the destination's convention: "London N1 8ED"
in the UK, "10435 Berlin" in Germany (and in France, Italy and Spain), "Austin, TX 78701"
in the US. Printing one order for every country put them in the wrong order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError

from liveshop.markets.model import COUNTRY_TO_MARKET

# Countries whose postcode comes after the town, on the same line.
TOWN_FIRST = frozenset({"GB"})
# Countries whose town line reads "Town, REGION POSTCODE".
TOWN_REGION_POSTCODE = frozenset({"US"})


@cache
def _locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def country_name(code: str, locale: str = "en-GB") -> str:
    """ "DE" -> "Germany" (en-GB) or "Deutschland" (de-DE); an unknown code stays as it is."""
    return _locale(locale).territories.get(code.upper(), code)


def country_choices(codes: Iterable[str], locale: str) -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name as the reader spells them."""
    return sorted(((code, country_name(code, locale)) for code in codes),
                  key=lambda pair: pair[1].casefold())


def country_of_market(market_code: str) -> str:
    """The country a new address in this market is most likely in (UK -> GB)."""
    return next((country for country, market in COUNTRY_TO_MARKET.items()
                 if market == market_code), "")


def town_line(country: str, city: str, postcode: str, region: str = "") -> str:
    """The line with town and postcode, in the destination country's order."""
    country = country.upper()
    if country in TOWN_REGION_POSTCODE:
        return f"{city}, {' '.join(part for part in (region, postcode) if part)}".strip(", ")
    parts = [city, region, postcode] if country in TOWN_FIRST else [postcode, city, region]
    return " ".join(part for part in parts if part)


def address_lines(address: Mapping[str, Any] | object, locale: str = "en-GB") -> list[str]:
    """An address (a saved one's view, or an order's ship-to mapping) as the lines of a
    label, the country named in the reader's language."""
    def field(name: str) -> str:
        value = (address.get(name) if isinstance(address, Mapping)
                 else getattr(address, name, ""))
        return str(value or "").strip()

    country = field("country").upper()
    lines = [field("full_name"), field("line1"), field("line2"),
             town_line(country, field("city"), field("postcode"), field("region")),
             country_name(country, locale) if country else ""]
    return [line for line in lines if line]

