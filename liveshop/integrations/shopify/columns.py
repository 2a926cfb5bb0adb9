"""Shopify's product CSV header: both generations of column names, matched without case.

Shopify renamed most columns in its newer export (``Variant Price`` became ``Price``,
``Handle`` became ``URL handle``...); an export of either generation, or a hand-made file
mixing them, reads the same. docs/shopify.md lists the columns and how each is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from liveshop.core.errors import InvalidInput
from liveshop.markets.model import MARKETS


class Column(StrEnum):
    HANDLE = "handle"
    TITLE = "title"
    BODY = "body"
    TAGS = "tags"
    PUBLISHED = "published"
    STATUS = "status"
    OPTION1_NAME = "option1_name"
    OPTION1_VALUE = "option1_value"
    OPTION2_NAME = "option2_name"
    OPTION2_VALUE = "option2_value"
    OPTION3_NAME = "option3_name"
    OPTION3_VALUE = "option3_value"
    SKU = "sku"
    GRAMS = "grams"
    WEIGHT_UNIT = "weight_unit"
    INVENTORY_TRACKER = "inventory_tracker"
    INVENTORY_QTY = "inventory_qty"
    PRICE = "price"
    COMPARE_AT = "compare_at"
    BARCODE = "barcode"
    IMAGE_SRC = "image_src"
    IMAGE_POSITION = "image_position"
    IMAGE_ALT = "image_alt"
    VARIANT_IMAGE = "variant_image"


# The older export's name first, then the newer one's (and spellings seen in the wild).
ALIASES: dict[Column, tuple[str, ...]] = {
    Column.HANDLE: ("handle", "url handle"),
    Column.TITLE: ("title",),
    Column.BODY: ("body (html)", "description", "body html"),
    Column.TAGS: ("tags",),
    Column.PUBLISHED: ("published", "published on online store"),
    Column.STATUS: ("status",),
    Column.OPTION1_NAME: ("option1 name",),
    Column.OPTION1_VALUE: ("option1 value",),
    Column.OPTION2_NAME: ("option2 name",),
    Column.OPTION2_VALUE: ("option2 value",),
    Column.OPTION3_NAME: ("option3 name",),
    Column.OPTION3_VALUE: ("option3 value",),
    Column.SKU: ("variant sku", "sku"),
    Column.GRAMS: ("variant grams", "weight value (grams)"),
    Column.WEIGHT_UNIT: ("variant weight unit", "weight unit for display"),
    Column.INVENTORY_TRACKER: ("variant inventory tracker", "inventory tracker"),
    Column.INVENTORY_QTY: ("variant inventory qty", "inventory quantity"),
    Column.PRICE: ("variant price", "price"),
    Column.COMPARE_AT: ("variant compare at price", "compare-at price", "compare at price"),
    Column.BARCODE: ("variant barcode", "barcode"),
    Column.IMAGE_SRC: ("image src", "product image url"),
    Column.IMAGE_POSITION: ("image position",),
    Column.IMAGE_ALT: ("image alt text",),
    Column.VARIANT_IMAGE: ("variant image", "variant image url"),
}
_BY_ALIAS = {alias: column for column, aliases in ALIASES.items() for alias in aliases}

# Shopify Markets exports ``Price / United Kingdom`` and ``Compare At Price / Germany``
# (``Compare-at price / ...`` in the newer layout): a fixed price in that market's currency.
_MARKET_PRICE = re.compile(r"(?P<kind>price|compare[- ]at price)\s*/\s*(?P<market>.+)", re.I)
# Shopify names a market by its region as the seller called it; these are the usual names.
_MARKET_NAMES: dict[str, str] = {
    "united kingdom": "UK", "uk": "UK", "great britain": "UK", "gb": "UK",
    "germany": "DE", "de": "DE", "france": "FR", "fr": "FR", "italy": "IT", "it": "IT",
    "spain": "ES", "es": "ES", "united states": "US", "us": "US", "usa": "US",
    **{market.name.lower(): code for code, market in MARKETS.items()},
}


@dataclass(frozen=True)
class MarketColumns:
    """One market's price columns (positions in a row) and their headers as written."""

    market: str
    price: int | None = None
    price_header: str = ""
    compare_at: int | None = None
    compare_at_header: str = ""


@dataclass
class Layout:
    """Where each column is in this file's rows, and its header as the file writes it."""

    positions: dict[Column, int]
    headers: dict[Column, str]
    markets: dict[str, MarketColumns] = field(default_factory=dict)
    # Headers this importer does not use (Vendor, SEO Title, Cost per item...), and
    # ``Price / <Market>`` columns for markets liveshop does not have.
    unused: list[str] = field(default_factory=list)
    width: int = 0
    newer: bool = False

    def header(self, column: Column) -> str:
        """The header as written in the file (for problems), or the older name."""
        return self.headers.get(column) or ALIASES[column][0].title()


def read_header(cells: list[str]) -> Layout:
    positions: dict[Column, int] = {}
    headers: dict[Column, str] = {}
    markets: dict[str, MarketColumns] = {}
    unused: list[str] = []
    for index, raw in enumerate(cells):
        name = " ".join(raw.split())
        key = name.lower()
        column = _BY_ALIAS.get(key)
        if column is not None and column not in positions:
            positions[column], headers[column] = index, name
            continue
        priced = _MARKET_PRICE.fullmatch(name)
        code = _MARKET_NAMES.get(priced.group("market").strip().lower()) if priced else None
        if priced and code:
            entry = markets.get(code, MarketColumns(code))
            if priced.group("kind").lower() == "price":
                entry = MarketColumns(code, index, name, entry.compare_at,
                                      entry.compare_at_header)
            else:
                entry = MarketColumns(code, entry.price, entry.price_header, index, name)
            markets[code] = entry
            continue
        if name:
            unused.append(name)
    if Column.HANDLE not in positions:
        raise InvalidInput("This is not a Shopify product export: it has no Handle "
                           "(or URL handle) column in its first row", field="file")
    return Layout(positions, headers, markets, unused, len(cells),
                  newer=headers[Column.HANDLE].lower() == "url handle")
