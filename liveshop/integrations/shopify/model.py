"""Shopify's product CSV read into product drafts, row by row. Pure: no SQL, no HTTP.

A Shopify export has one row per variant, grouped by handle: the first row of a handle
carries the product's columns, later rows leave them blank, and rows with only image columns
add pictures. ``read_products`` streams the rows and yields one ``ProductDraft`` per handle,
so a file of any size is read with one product's rows in memory. Every problem names its row
(the spreadsheet's row number: the header is row 1) and its column as the file writes it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from liveshop.catalog.model import MAX_SKU_LENGTH, ProductStatus, parse_major, slugify
from liveshop.core.errors import InvalidInput
from liveshop.integrations.shopify import body_html
from liveshop.integrations.shopify.columns import Column, Layout, read_header
from liveshop.markets.model import MARKETS

OPTION_COLUMNS = (
    (Column.OPTION1_NAME, Column.OPTION1_VALUE),
    (Column.OPTION2_NAME, Column.OPTION2_VALUE),
    (Column.OPTION3_NAME, Column.OPTION3_VALUE),
)
# The columns of a variant: a row with none of them is an image row (or empty).
VARIANT_COLUMNS = (Column.SKU, Column.PRICE, Column.OPTION1_VALUE, Column.INVENTORY_QTY,
                   Column.GRAMS, Column.BARCODE)
# csv's default field limit is 128 KiB; a description with inline images can be longer.
MAX_FIELD_CHARACTERS = 1_000_000
MAX_HANDLE_LENGTH = 255
# A spreadsheet writes a long number such as an EAN-13 as 8.71234E+12: digits are gone.
SCIENTIFIC = re.compile(r"[0-9](\.[0-9]+)?[eE][+-]?[0-9]+")
GRAMS_PATTERN = re.compile(r"[0-9]{1,9}(\.[0-9]+)?")
QUANTITY_PATTERN = re.compile(r"-?[0-9]{1,9}(\.0+)?")


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    message: str
    # An error keeps its product out of the import; a warning is said and the rest imports.
    error: bool = True

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class VariantDraft:
    row: int
    sku: str                     # as in the file: "" when blank
    options: tuple[str, ...]
    grams: int
    # market -> (amount, compare_at) in that market's minor units
    prices: dict[str, tuple[int, int | None]]
    quantity: int | None         # None: Shopify does not track it
    barcode: str
    # Pulled from a connected store (empty from a CSV): the variant's GraphQL id and its
    # inventory item's. Not part of the content: the same variant pulled or imported.
    remote_id: str = ""
    inventory_item_id: str = ""

    @property
    def options_key(self) -> str:
        """How a variant without a SKU is recognised again: its option values."""
        return "\x1f".join(value.lower() for value in self.options)


@dataclass(frozen=True)
class ImageDraft:
    row: int
    src: str
    position: int
    alt: str


@dataclass
class ProductDraft:
    handle: str
    row: int
    last_row: int
    title: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    status: ProductStatus = ProductStatus.ACTIVE
    option_names: list[str] = field(default_factory=list)
    variants: list[VariantDraft] = field(default_factory=list)
    images: list[ImageDraft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Pulled from a connected store: the product's GraphQL id and its updatedAt.
    remote_id: str = ""
    remote_updated_at: str = ""
    _digest: str = field(default="", repr=False, compare=False)

    @property
    def has_errors(self) -> bool:
        return any(problem.error for problem in self.problems)

    def content(self) -> dict[str, Any]:
        """What the file says of the product, without row numbers: equal content means an
        unchanged product, whatever else moved in the file."""
        return {
            "title": self.title, "description": self.description, "tags": self.tags,
            "status": self.status.value, "options": self.option_names,
            "variants": [
                {"sku": v.sku, "options": list(v.options), "grams": v.grams,
                 "prices": {m: list(p) for m, p in sorted(v.prices.items())},
                 "quantity": v.quantity, "barcode": v.barcode}
                for v in self.variants],
            "images": [{"src": i.src, "position": i.position, "alt": i.alt}
                       for i in self.images],
        }

    def digest(self) -> str:
        if not self._digest:
            canonical = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
            self._digest = hashlib.sha256(canonical.encode()).hexdigest()
        return self._digest


def generated_sku(handle: str, options: Iterable[str]) -> str:
    """The SKU given here to a Shopify variant that has none (the catalog needs one): the
    handle and option values, so the same variant gets the same SKU on every import."""
    stem = slugify("-".join([handle, *options]))
    if len(stem) <= MAX_SKU_LENGTH:
        return stem
    tail = hashlib.sha256(stem.encode()).hexdigest()[:8]
    return f"{stem[:MAX_SKU_LENGTH - 9].rstrip('-')}-{tail}"


# --- rules shared by the CSV and a connected store's products ---

def without_default_title(names: list[str]) -> list[str]:
    """A product without options is written by Shopify as one option "Title" whose value
    is "Default Title": no options here."""
    if names and names[0].lower() == "title" and not any(names[1:]):
        return []
    return names


def former_price(amount: int, compare_at: int | None) -> int | None:
    """Shopify shows a compare-at price only when it is above the price, and keeps whatever
    was typed: one that is not above is no former price, and is left out."""
    return compare_at if compare_at is not None and compare_at > amount else None


def counted(quantity: int) -> int:
    """Shopify lets an oversold variant go below 0; here that is none left."""
    return max(quantity, 0)


# --- reading values ---

def quoted(text: str) -> str:
    return f'"{text.strip()}"'


def _truthy(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    return None


def _price(text: str, currency: str, row: int, header: str) -> int | Problem:
    try:
        return parse_major(text.replace("\u00a0", ""), currency, header)
    except InvalidInput:
        return Problem(row, header, f"{quoted(text)} is not a price (like 19.99)")


class _Row:
    """One record of the file, read by column."""

    def __init__(self, layout: Layout, cells: list[str], number: int):
        self.layout, self.cells, self.number = layout, cells, number

    def get(self, column: Column) -> str:
        position = self.layout.positions.get(column)
        if position is None or position >= len(self.cells):
            return ""
        return self.cells[position].strip()

    def at(self, position: int | None) -> str:
        if position is None or position >= len(self.cells):
            return ""
        return self.cells[position].strip()

    def has_variant(self) -> bool:
        return any(self.get(column) for column in VARIANT_COLUMNS)

    def problem(self, column: Column, message: str, error: bool = True) -> Problem:
        return Problem(self.number, self.layout.header(column), message, error)


# --- rows to products ---

def _start_product(row: _Row, handle: str) -> ProductDraft:
    draft = ProductDraft(handle=handle, row=row.number, last_row=row.number)
    draft.title = row.get(Column.TITLE)
    if not draft.title:
        draft.problems.append(row.problem(Column.TITLE, "The first row of a product needs "
                                          "its title"))
    body = row.get(Column.BODY)
    draft.description = body_html.as_text(body) if body else ""
    draft.tags = [tag for tag in row.get(Column.TAGS).split(",") if tag.strip()]
    draft.status = _status(row, draft)
    names = without_default_title([row.get(name) for name, _value in OPTION_COLUMNS])
    draft.option_names = [name for name in names if name]
    if names[:len(draft.option_names)] != draft.option_names:
        draft.problems.append(row.problem(Column.OPTION1_NAME, "Option names must be filled "
                                          "from Option1 on, without gaps"))
    return draft


def _status(row: _Row, draft: ProductDraft) -> ProductStatus:
    """``Status`` (active, draft, archived) where the export has it; an active product that is
    not published to the online store stays a draft here, as buyers could not see it there.
    Without a ``Status`` column (older exports) ``Published`` decides; blank means published,
    as Shopify reads it."""
    text = row.get(Column.STATUS).lower()
    published = _truthy(row.get(Column.PUBLISHED)) if row.get(Column.PUBLISHED) else True
    if row.get(Column.PUBLISHED) and published is None:
        draft.problems.append(row.problem(
            Column.PUBLISHED, f"{quoted(row.get(Column.PUBLISHED))} is not TRUE or FALSE; read as "
            "not published", error=False))
        published = False
    if text:
        try:
            status = ProductStatus(text)
        except ValueError:
            draft.problems.append(row.problem(
                Column.STATUS, f"{quoted(text)} is not active, draft or archived"))
            return ProductStatus.DRAFT
        if status is ProductStatus.ACTIVE and not published:
            return ProductStatus.DRAFT
        return status
    return ProductStatus.ACTIVE if published else ProductStatus.DRAFT


def _add_variant(draft: ProductDraft, row: _Row, market: str) -> None:
    layout = row.layout
    problems = draft.problems
    values = []
    for position, (_name, value_column) in enumerate(OPTION_COLUMNS):
        value = row.get(value_column)
        if position < len(draft.option_names):
            if not value:
                problems.append(row.problem(value_column, f"Give a value for "
                                            f"{draft.option_names[position]}"))
            values.append(value)
        elif value and not (position == 0 and value.lower() == "default title"):
            problems.append(row.problem(value_column, f"{quoted(value)} has no option name in the "
                                        "product's first row", error=False))
    prices: dict[str, tuple[int, int | None]] = {}
    currency = MARKETS[market].currency
    price_text = row.get(Column.PRICE)
    if not price_text:
        problems.append(row.problem(Column.PRICE, "A variant needs a price"))
    else:
        amount = _price(price_text, currency, row.number, layout.header(Column.PRICE))
        compare = _compare_at(row, row.get(Column.COMPARE_AT), currency,
                              layout.header(Column.COMPARE_AT), amount)
        if isinstance(amount, Problem):
            problems.append(amount)
        elif not isinstance(compare, Problem):
            prices[market] = (amount, compare)
        if isinstance(compare, Problem):
            problems.append(compare)
    for code, columns in layout.markets.items():
        if code == market or not row.at(columns.price):
            continue
        other = MARKETS[code].currency
        amount = _price(row.at(columns.price), other, row.number, columns.price_header)
        compare = _compare_at(row, row.at(columns.compare_at), other,
                              columns.compare_at_header, amount)
        for result in (amount, compare):
            if isinstance(result, Problem):
                problems.append(result)
        if not isinstance(amount, Problem) and not isinstance(compare, Problem):
            prices[code] = (amount, compare)
    draft.variants.append(VariantDraft(
        row=row.number, sku=row.get(Column.SKU), options=tuple(values),
        grams=_grams(row, problems), prices=prices, quantity=_quantity(row, problems),
        barcode=_barcode(row, problems)))


def _compare_at(row: _Row, text: str, currency: str, header: str,
                amount: int | Problem) -> int | Problem | None:
    """``former_price``: a compare-at price not above the price is left out."""
    if not text:
        return None
    compare = _price(text, currency, row.number, header)
    if isinstance(compare, Problem) or isinstance(amount, Problem):
        return compare
    return former_price(amount, compare)


def _grams(row: _Row, problems: list[Problem]) -> int:
    """``Variant Grams`` is always grams; ``Variant Weight Unit`` is only how Shopify
    displays it, so it changes nothing here."""
    text = row.get(Column.GRAMS)
    if not text:
        return 0
    if not GRAMS_PATTERN.fullmatch(text):
        problems.append(row.problem(Column.GRAMS, f"{quoted(text)} is not a weight in grams"))
        return 0
    return int(Decimal(text).to_integral_value())


def _quantity(row: _Row, problems: list[Problem]) -> int | None:
    """Blank (or a tracker column that is blank): Shopify does not count this variant."""
    text = row.get(Column.INVENTORY_QTY)
    tracker = row.layout.positions.get(Column.INVENTORY_TRACKER)
    if not text or (tracker is not None and not row.get(Column.INVENTORY_TRACKER)):
        return None
    if not QUANTITY_PATTERN.fullmatch(text):
        problems.append(row.problem(Column.INVENTORY_QTY, f"{quoted(text)} is not a whole number"))
        return None
    quantity = int(Decimal(text))
    if quantity < 0:
        problems.append(row.problem(Column.INVENTORY_QTY, f"{quantity} units (oversold in "
                                    "Shopify) are read as 0", error=False))
    return counted(quantity)


def _barcode(row: _Row, problems: list[Problem]) -> str:
    """A barcode a spreadsheet turned into 8.71E+12 has lost its last digits, which nobody
    can tell back: it is reported and left out, never padded with made-up zeros."""
    text = row.get(Column.BARCODE).lstrip("'")
    if SCIENTIFIC.fullmatch(text):
        problems.append(row.problem(
            Column.BARCODE, f"{text} is in scientific notation: a spreadsheet dropped its last "
            "digits; not imported (format the column as text and export again)", error=False))
        return ""
    return text[:64]


def _add_image(draft: ProductDraft, row: _Row) -> None:
    src = row.get(Column.IMAGE_SRC)
    if not src:
        return
    position_text = row.get(Column.IMAGE_POSITION)
    position = int(position_text) if position_text.isdigit() else len(draft.images) + 1
    if not src.lower().startswith(("http://", "https://")):
        draft.problems.append(row.problem(Column.IMAGE_SRC, "Only http(s) image URLs are "
                                          "fetched; this one is left out", error=False))
        return
    if all(image.src != src for image in draft.images):
        draft.images.append(ImageDraft(row.number, src[:2000], position,
                                       row.get(Column.IMAGE_ALT)[:200]))


def _finish(draft: ProductDraft) -> ProductDraft:
    if not draft.variants:
        draft.problems.append(Problem(draft.row, "", "The product has no variant rows (only "
                                      "images): nothing to sell"))
    return draft


@dataclass
class FileProblems:
    """Problems of the file as a whole (the header) and rows that belong to no product."""

    problems: list[Problem] = field(default_factory=list)
    layout: Layout | None = None


def read_products(text: TextIO, market: str, found: FileProblems | None = None
                  ) -> Iterator[ProductDraft]:
    """One draft per handle, in the file's order, reading one product's rows at a time.

    ``text`` must be opened with ``newline=""`` (and ``utf-8-sig`` to drop a BOM), so
    quoted line breaks stay in their cell and CRLF ends a row. ``market`` is the market the
    file's ``Variant Price`` is in. Rows of a handle seen earlier and left (a hand-edited
    file) are reported, not merged: merging would need the whole file in memory."""
    found = found if found is not None else FileProblems()
    csv.field_size_limit(MAX_FIELD_CHARACTERS)
    records = csv.reader(text)
    header = next(records, None)
    if header is None:
        raise InvalidInput("The file is empty", field="file")
    layout = read_header(header)
    found.layout = layout
    done: set[str] = set()
    draft: ProductDraft | None = None
    for number, cells in enumerate(records, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = _Row(layout, cells, number)
        handle = row.get(Column.HANDLE)
        if not handle:
            found.problems.append(row.problem(Column.HANDLE, "A row without a handle belongs "
                                              "to no product; skipped"))
            continue
        if len(handle) > MAX_HANDLE_LENGTH:
            found.problems.append(row.problem(Column.HANDLE, "The handle is longer than "
                                              f"{MAX_HANDLE_LENGTH} characters; skipped"))
            continue
        if draft is not None and handle != draft.handle:
            done.add(draft.handle)
            yield _finish(draft)
            draft = None
        if draft is None:
            if handle in done:
                found.problems.append(row.problem(
                    Column.HANDLE, f"{quoted(handle)} continues a product whose rows ended earlier "
                    "in the file; the rows of a product must be together; skipped"))
                continue
            draft = _start_product(row, handle)
        draft.last_row = number
        if row.has_variant():
            _add_variant(draft, row, market)
        _add_image(draft, row)
        if row.get(Column.VARIANT_IMAGE):
            src = row.get(Column.VARIANT_IMAGE)
            if src.lower().startswith(("http://", "https://")) and all(
                    image.src != src for image in draft.images):
                draft.images.append(ImageDraft(number, src[:2000], len(draft.images) + 1, ""))
    if draft is not None:
        yield _finish(draft)
