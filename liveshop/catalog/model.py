"""Catalog rules: tags, product status, options and variants, prices. Free of HTTP and SQL.

Every rule raises InvalidInput naming the exact field path of the offending value
(e.g. "variants.1.prices.DE.amount") so API clients and forms can point at it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from liveshop.core.errors import InvalidInput
from liveshop.core.money import MAX_MINOR_UNITS, MINOR_DIGITS
from liveshop.markets.model import Market, get_market

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_OPTIONS = 3
MAX_OPTION_LENGTH = 50
MAX_SKU_LENGTH = 64
MAX_AMOUNT = MAX_MINOR_UNITS
AMOUNT_PATTERN = re.compile(r"-?[0-9]{1,12}(\.[0-9]+)?")


class ProductStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


# --- tags ---

def normalise_tags(tags: Iterable[str], field: str = "tags") -> list[str]:
    """Lower-case, trimmed, de-duplicated (first occurrence wins), at most MAX_TAGS."""
    result: list[str] = []
    for index, raw in enumerate(tags):
        tag = clean_tag(raw)
        if not tag:
            continue
        if "," in tag:
            raise InvalidInput("A tag cannot contain a comma", field=f"{field}.{index}")
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidInput(f"A tag has at most {MAX_TAG_LENGTH} characters",
                               field=f"{field}.{index}")
        if tag not in result:
            result.append(tag)
    if len(result) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags", field=field)
    return result


def clean_tag(raw: str) -> str:
    return " ".join(raw.split()).lower()


def parse_tag_text(text: str) -> list[str]:
    """Tags typed into one form field, separated by commas (a blank one, as in "a, b,", is
    no tag: it does not count against MAX_TAGS)."""
    return [tag for tag in text.split(",") if tag.strip()]


def join_tags(tags: Sequence[str]) -> str:
    """Stored as ",a,b," so one tag matches with LIKE '%,tag,%'."""
    return f",{','.join(tags)}," if tags else ""


def split_tags(stored: str) -> list[str]:
    return [tag for tag in stored.split(",") if tag]


# --- shops ---

# A shop's page is at /{slug}, after every other route: a shop named like one of the site's
# own paths (or one it may add) would never be reached there, so it gets another slug.
# tests/web/test_shop_slugs.py holds every route's first path segment to this list.
RESERVED_SLUGS = frozenset({
    "about", "account", "accounts", "admin", "alerts", "api", "auth", "cart", "checkout",
    "creators", "dashboard", "developer", "developers", "docs", "favicon", "feed", "following",
    "health", "help", "integrations", "live", "login", "logout", "mail", "market", "markets",
    "media", "metrics",
    "notifications", "openapi", "orders", "outbox", "privacy", "products", "profile",
    "redoc", "replays", "robots", "search", "seller", "settings", "shops", "shows",
    "signup", "sitemap", "static", "terms", "video", "well-known", "ws",
})
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:80].strip("-")
    slug = slug or "shop"
    return f"{slug}-shop" if slug in RESERVED_SLUGS else slug


def is_shop_slug(text: str) -> bool:
    """Whether a path segment can be a shop's address at all (so /{slug} answers 404
    without a query for anything else)."""
    return len(text) <= 100 and bool(SLUG_PATTERN.fullmatch(text)) and (
        text not in RESERVED_SLUGS)


def check_shipping(amount: int, field: str) -> int:
    if amount < 0:
        raise InvalidInput("Shipping cannot be negative", field=field)
    if amount > MAX_AMOUNT:
        raise InvalidInput("Shipping is too high", field=field)
    return amount


# --- options and variants ---

def check_option_names(names: Sequence[str], field: str = "options") -> list[str]:
    cleaned = [" ".join(name.split()) for name in names]
    if len(cleaned) > MAX_OPTIONS:
        raise InvalidInput(f"At most {MAX_OPTIONS} options (e.g. Size, Colour)", field=field)
    seen: set[str] = set()
    for index, name in enumerate(cleaned):
        if not name:
            raise InvalidInput("Option name cannot be empty", field=f"{field}.{index}")
        if len(name) > MAX_OPTION_LENGTH:
            raise InvalidInput(f"Option name has at most {MAX_OPTION_LENGTH} characters",
                               field=f"{field}.{index}")
        if name.lower() in seen:
            raise InvalidInput(f"Option {name!r} is listed twice", field=f"{field}.{index}")
        seen.add(name.lower())
    return cleaned


@dataclass(frozen=True)
class PriceRule:
    market: str
    currency: str
    amount: int
    compare_at: int | None


@dataclass(frozen=True)
class VariantRule:
    """A checked variant: what the service writes to the database."""

    sku: str
    options: tuple[str, ...]
    weight_grams: int
    prices: tuple[PriceRule, ...]


@dataclass(frozen=True)
class VariantInput:
    sku: str
    options: Sequence[str]
    weight_grams: int
    # market code -> (amount, compare_at) in that market's minor units
    prices: Mapping[str, tuple[int, int | None]]


def check_price(market_code: str, amount: int, compare_at: int | None, field: str) -> PriceRule:
    """Amount > 0; a compare-at ("was") price must be above it. Currency comes from the market."""
    market = get_market(market_code, field=field)
    if amount <= 0:
        raise InvalidInput("Price must be greater than zero", field=f"{field}.amount")
    if amount > MAX_AMOUNT:
        raise InvalidInput("Price is too high", field=f"{field}.amount")
    if compare_at is not None and compare_at <= amount:
        raise InvalidInput("Compare-at price must be higher than the price",
                           field=f"{field}.compare_at")
    if compare_at is not None and compare_at > MAX_AMOUNT:
        raise InvalidInput("Compare-at price is too high", field=f"{field}.compare_at")
    return PriceRule(market.code, market.currency, amount, compare_at)


def check_variants(option_names: Sequence[str], variants: Sequence[VariantInput],
                   field: str = "variants") -> list[VariantRule]:
    """One value per option, unique option combinations, SKUs present and unique."""
    if not variants:
        raise InvalidInput("A product needs at least one variant", field=field)
    skus: dict[str, int] = {}
    combinations: dict[tuple[str, ...], int] = {}
    checked: list[VariantRule] = []
    for index, variant in enumerate(variants):
        at = f"{field}.{index}"
        sku = variant.sku.strip()
        if not sku:
            raise InvalidInput("SKU is required", field=f"{at}.sku")
        if len(sku) > MAX_SKU_LENGTH:
            raise InvalidInput(f"SKU has at most {MAX_SKU_LENGTH} characters", field=f"{at}.sku")
        if sku.lower() in skus:
            raise InvalidInput(f"SKU {sku!r} is used twice", field=f"{at}.sku")
        skus[sku.lower()] = index
        values = tuple(" ".join(value.split()) for value in variant.options)
        if len(values) != len(option_names):
            raise InvalidInput(
                f"Give exactly {len(option_names)} option value(s): "
                f"{', '.join(option_names) or 'none'}", field=f"{at}.options")
        for position, value in enumerate(values):
            if not value:
                raise InvalidInput(f"{option_names[position]} cannot be empty",
                                   field=f"{at}.options.{position}")
            if len(value) > MAX_OPTION_LENGTH:
                raise InvalidInput(f"Option value has at most {MAX_OPTION_LENGTH} characters",
                                   field=f"{at}.options.{position}")
        combination = tuple(value.lower() for value in values)
        if combination in combinations:
            raise InvalidInput(
                f"Variant {combinations[combination] + 1} already has these option values",
                field=f"{at}.options")
        combinations[combination] = index
        if variant.weight_grams < 0:
            raise InvalidInput("Weight cannot be negative", field=f"{at}.weight_grams")
        prices = tuple(
            check_price(code, amount, compare_at, f"{at}.prices.{code}")
            for code, (amount, compare_at) in variant.prices.items()
        )
        if len({price.market for price in prices}) != len(prices):
            raise InvalidInput("A market is priced twice", field=f"{at}.prices")
        checked.append(VariantRule(sku, values, variant.weight_grams, prices))
    return checked


def variant_title(options: Iterable[str | None]) -> str:
    """What a buyer sees to tell variants apart, e.g. "M / Blue"."""
    return " / ".join(value for value in options if value) or "Default"


# --- display ---

def tax_note(market: Market) -> str:
    if market.tax_inclusive:
        return f"incl. {market.vat_percent} VAT"
    return "plus applicable sales tax"


def stock_label(available: int, low_stock: int = 5) -> str:
    if available <= 0:
        return "Sold out"
    if available <= low_stock:
        return f"Only {available} left"
    return "In stock"


# --- form input in major units ---

def parse_major(text: str, currency: str, field: str) -> int:
    """"4.99" -> 499 exactly (Decimal, never float). A lone comma is read as the
    decimal mark, since sellers in EUR markets type "4,99"."""
    cleaned = text.strip().replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not AMOUNT_PATTERN.fullmatch(cleaned):
        raise InvalidInput(f"{text!r} is not an amount like 4.99", field=field)
    digits = MINOR_DIGITS[currency]
    value = Decimal(cleaned)
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise InvalidInput(f"At most {digits} decimals", field=field)
    return int(minor)


def format_major(amount: int | None, currency: str) -> str:
    """Inverse of parse_major, for re-filling forms."""
    if amount is None:
        return ""
    return str(Decimal(amount).scaleb(-MINOR_DIGITS[currency]))


def check_text(value: str, field: str) -> str:
    """Required one-line text: surrounding blanks do not count as content."""
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput("This cannot be empty", field=field)
    return cleaned


def check_shop_markets(entries: Sequence[tuple[str, int]], field: str = "markets"
                       ) -> dict[str, int]:
    """(market code, shipping in minor units) pairs -> {code: shipping}, each market once."""
    result: dict[str, int] = {}
    for index, (code, shipping) in enumerate(entries):
        market = get_market(code, field=f"{field}.{index}.market")
        if market.code in result:
            raise InvalidInput(f"{market.code} is listed twice", field=f"{field}.{index}.market")
        result[market.code] = check_shipping(shipping, f"{field}.{index}.shipping")
    return result
