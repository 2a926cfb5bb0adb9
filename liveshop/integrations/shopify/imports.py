"""Import a Shopify product export into a shop: a dry run first, then the import.

Both read the file as a stream, one product (one handle's rows) at a time, and work in
batches of ``BATCH_PRODUCTS`` products: the dry run in one read per batch, the import in one
transaction per batch (each product in a savepoint, so one refused product never takes its
batch with it). Products are created and changed only through the catalog's building blocks
(``add_product``, ``change_product``, ``set_variants``, liveshop/catalog/service.py) and
stock only through inventory's ``receive``: every catalog rule applies, as on the product
form, and the dry run asks the same rules (``check_product``) without writing.

The same file imported again changes nothing: each product's content from the file is
remembered (``ShopifyProductLink.digest``); a product whose content is unchanged is not
touched, and a changed one gets only what changed. Products are matched by handle, variants
by SKU (by option values when the SKU is blank), through the adapter's own link tables.

Prices: ``Variant Price`` is in the store's currency and the seller says which market it
is for; ``Price / <Market>`` columns price the other markets they name; the shop's other
markets get the price the markets' own rule derives from it (``with_derived_prices``), as on
the product form: the importer has no rule of its own.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TextIO

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog import service as catalog
from liveshop.catalog.access import owned_product, owned_shop
from liveshop.catalog.schemas import ProductCreate, ProductUpdate, VariantIn, VariantsReplace
from liveshop.core.db import Database, insert_rows, refresh_statistics, utcnow
from liveshop.core.errors import DomainError, InvalidInput, NotFound
from liveshop.integrations.shopify.columns import Column, Layout
from liveshop.integrations.shopify.model import (
    FileProblems,
    Problem,
    ProductDraft,
    VariantDraft,
    generated_sku,
    read_products,
)
from liveshop.integrations.shopify.orm import (
    ShopifyImport,
    ShopifyPendingImage,
    ShopifyProductLink,
    ShopifyVariantLink,
)
from liveshop.inventory import service as inventory
from liveshop.markets.model import MARKETS, derive_prices, get_market

BATCH_PRODUCTS = 200
# The tables an import fills, whose statistics are refreshed as they grow (refresh_statistics).
FILLED_TABLES = ("products", "variants", "variant_prices", "stock_levels", "stock_movements",
                 "shopify_product_links", "shopify_variant_links")
# A report keeps this many problems and names of products per kind; counts are exact.
MAX_PROBLEMS = 1000
MAX_LISTED = 200
IMPORT_NOTE = "Shopify import"

Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    market: str
    dry_run: bool
    rows: int = 0
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    pending_images: int = 0
    created_handles: list[str] = field(default_factory=list)
    # handle -> what changed ("title", "variants"...)
    updated_handles: dict[str, list[str]] = field(default_factory=dict)
    skipped_handles: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    unused_columns: list[str] = field(default_factory=list)
    layout: str = ""

    def note(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.problems_total += 1
            if len(self.problems) < MAX_PROBLEMS:
                self.problems.append(problem)

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.error]

    def as_dict(self) -> dict[str, Any]:
        return {
            "market": self.market, "dry_run": self.dry_run, "rows": self.rows,
            "layout": self.layout, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "skipped": self.skipped,
            "pending_images": self.pending_images,
            "created_handles": self.created_handles, "updated_handles": self.updated_handles,
            "skipped_handles": self.skipped_handles,
            "problems": [{"row": p.row, "column": p.column, "message": p.message,
                          "error": p.error} for p in self.problems],
            "problems_total": self.problems_total, "unused_columns": self.unused_columns,
        }


def count_rows(text: TextIO) -> int:
    """Records after the header (quoted line breaks count once), for progress."""
    return max(sum(1 for _ in csv.reader(text)) - 1, 0)


# --- the file's product as the catalog's input, and the catalog's answer as a problem ---

def _column_of(draft: ProductDraft, layout: Layout, market: str,
               path: Sequence[str]) -> tuple[int, str]:
    """The row and column a catalog field path (``variants.1.prices.DE.amount``) points at."""
    head = path[0] if path else ""
    if head == "variants" and len(path) > 1 and path[1].isdigit() and int(path[1]) < len(
            draft.variants):
        variant = draft.variants[int(path[1])]
        rest = path[2:]
        what = rest[0] if rest else ""
        if what == "sku":
            return variant.row, layout.header(Column.SKU)
        if what == "options":
            position = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else 0
            value = (Column.OPTION1_VALUE, Column.OPTION2_VALUE, Column.OPTION3_VALUE)[
                min(position, 2)]
            return variant.row, layout.header(value)
        if what == "weight_grams":
            return variant.row, layout.header(Column.GRAMS)
        if what == "prices" and len(rest) > 1:
            code = rest[1]
            compare = len(rest) > 2 and rest[2] == "compare_at"
            if code == market:
                return variant.row, layout.header(Column.COMPARE_AT if compare else Column.PRICE)
            priced = layout.markets.get(code)
            if priced is not None:
                return variant.row, (priced.compare_at_header if compare
                                     else priced.price_header)
        return variant.row, ""
    columns = {"title": Column.TITLE, "description": Column.BODY, "tags": Column.TAGS,
               "status": Column.STATUS, "options": Column.OPTION1_NAME}
    if head == "options" and len(path) > 1 and path[1].isdigit():
        name = (Column.OPTION1_NAME, Column.OPTION2_NAME, Column.OPTION3_NAME)[
            min(int(path[1]), 2)]
        return draft.row, layout.header(name)
    if head in columns:
        return draft.row, layout.header(columns[head])
    return draft.row, ""


def _refusal(draft: ProductDraft, layout: Layout, market: str,
             error: DomainError | ValidationError) -> Problem:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        path = [str(part) for part in first["loc"]]
        message = str(first["msg"])
    else:
        path = (error.field or "").split(".") if error.field else []
        message = error.message
    row, column = _column_of(draft, layout, market, path)
    return Problem(row, column, message)


def _variant_fields(variant: VariantDraft, sku: str,
                    kept_prices: dict[str, Any] | None = None) -> dict[str, Any]:
    prices = dict(kept_prices or {})
    prices.update({code: {"amount": amount, "compare_at": compare}
                   for code, (amount, compare) in variant.prices.items()})
    return {"sku": sku, "options": list(variant.options), "weight_grams": variant.grams,
            "prices": prices}


def _variant_input(variant: VariantDraft, sku: str,
                   kept_prices: dict[str, Any] | None = None) -> VariantIn:
    return VariantIn.model_validate(_variant_fields(variant, sku, kept_prices))


def _product_input(draft: ProductDraft, skus: Sequence[str]) -> ProductCreate:
    """The file's product as the catalog's own input, validated as the API's would be."""
    return ProductCreate.model_validate({
        "title": draft.title, "description": draft.description, "tags": draft.tags,
        "status": draft.status.value, "options": draft.option_names,
        "variants": [_variant_fields(variant, sku)
                     for variant, sku in zip(draft.variants, skus, strict=True)],
    })


def _key(sku: str, options_key: str) -> tuple[str, str]:
    return (sku.lower(), "") if sku else ("", options_key)


def _draft_key(variant: VariantDraft) -> tuple[str, str]:
    return _key(variant.sku, variant.options_key)


def _changed(previous: dict[str, Any], content: dict[str, Any]) -> list[str]:
    return [name for name in content if previous.get(name) != content[name]]


# --- deciding, per batch ---

@dataclass
class _Batch:
    drafts: list[ProductDraft]
    links: dict[str, ShopifyProductLink]


def _batches(drafts: Iterator[ProductDraft]) -> Iterator[list[ProductDraft]]:
    while batch := list(islice(drafts, BATCH_PRODUCTS)):
        yield batch


def _links(session: Session, shop_id: int, handles: list[str]
           ) -> dict[str, ShopifyProductLink]:
    return {link.handle: link for link in session.scalars(
        select(ShopifyProductLink).where(ShopifyProductLink.shop_id == shop_id,
                                         ShopifyProductLink.handle.in_(handles)))}


def _variant_links(session: Session, link: ShopifyProductLink
                   ) -> dict[tuple[str, str], ShopifyVariantLink]:
    return {(row.sku, row.options_key): row for row in session.scalars(
        select(ShopifyVariantLink).where(ShopifyVariantLink.product_link_id == link.id))}


def _new_skus(draft: ProductDraft) -> list[str]:
    return [variant.sku or generated_sku(draft.handle, variant.options)
            for variant in draft.variants]


def _check_update(session: Session, shop_id: int, draft: ProductDraft, layout: Layout,
                  market: str, link: ShopifyProductLink) -> Problem | None:
    """The catalog's answer to a changed product, without writing: None when it would
    take it (its rules, and its SKUs free of the shop's other products)."""
    try:
        catalog.check_product(_product_input(draft, _new_skus(draft)))
        catalog.check_skus_free(session, shop_id, link.product_id,
                                [variant.sku for variant in draft.variants if variant.sku])
    except (DomainError, ValidationError) as error:
        return _refusal(draft, layout, market, error)
    return None


def _check_new(session: Session, actor: Actor, shop_id: int, drafts: list[ProductDraft],
               layout: Layout, market: str) -> dict[str, Problem]:
    """The catalog's answer to a batch's new products, without writing (as
    ``_create_many`` asks it before it writes): the refused ones' problems by handle."""
    refused: dict[str, Problem] = {}
    ready: list[tuple[ProductDraft, ProductCreate]] = []
    for draft in drafts:
        try:
            ready.append((draft, _product_input(draft, _new_skus(draft))))
        except ValidationError as error:
            refused[draft.handle] = _refusal(draft, layout, market, error)
    while ready:
        try:
            catalog.check_new_products(session, actor, shop_id, [data for _d, data in ready])
            break
        except catalog.ProductRefused as no:
            draft, _data = ready.pop(no.index)
            refused[draft.handle] = _refusal(draft, layout, market, no.error)
    return refused


def _decide(report: ImportReport, draft: ProductDraft, link: ShopifyProductLink | None,
            refused: Problem | None) -> str:
    """create | update | unchanged | skip, counted in the report."""
    report.note(draft.problems)
    if draft.has_errors or refused is not None:
        if refused is not None:
            report.note([refused])
        report.skipped += 1
        if len(report.skipped_handles) < MAX_LISTED:
            report.skipped_handles.append(draft.handle)
        return "skip"
    if link is None:
        report.created += 1
        if len(report.created_handles) < MAX_LISTED:
            report.created_handles.append(draft.handle)
        report.pending_images += len(draft.images)
        return "create"
    if link.digest == draft.digest():
        report.unchanged += 1
        return "unchanged"
    report.updated += 1
    if len(report.updated_handles) < MAX_LISTED:
        report.updated_handles[draft.handle] = _changed(link.imported, draft.content())
    return "update"


# --- writing ---

def _create(session: Session, actor: Actor, shop_id: int, draft: ProductDraft) -> None:
    try:
        created = catalog.add_products(session, actor, shop_id,
                                       [_product_input(draft, _new_skus(draft))])
    except catalog.ProductRefused as refused:
        raise refused.error from None
    _link_created(session, shop_id, [(draft, created[0])])


def _link_created(session: Session, shop_id: int,
                  created: Sequence[tuple[ProductDraft, catalog.NewProduct]]) -> None:
    """The links of products just created, their stock and their pictures to fetch: a few
    statements for a whole batch."""
    links = [ShopifyProductLink(shop_id=shop_id, handle=draft.handle, product_id=product.id,
                                digest=draft.digest(), imported=draft.content())
             for draft, product in created]
    session.add_all(links)
    session.flush()
    variant_links: list[dict[str, Any]] = []
    quantities: dict[int, int] = {}
    images: list[dict[str, Any]] = []
    for link, (draft, product) in zip(links, created, strict=True):
        for variant_draft, variant_id in zip(draft.variants, product.variant_ids, strict=True):
            sku, options_key = _draft_key(variant_draft)
            variant_links.append({"product_link_id": link.id, "variant_id": variant_id,
                                  "sku": sku, "options_key": options_key,
                                  "barcode": variant_draft.barcode})
            if variant_draft.quantity:
                quantities[variant_id] = variant_draft.quantity
        images += [{"product_id": product.id, "src": image.src, "position": image.position,
                    "alt": image.alt} for image in draft.images]
    insert_rows(session, ShopifyVariantLink, variant_links)
    insert_rows(session, ShopifyPendingImage, [{**image, "status": "pending"} for image in images])
    inventory.receive_many(session, quantities, note=IMPORT_NOTE)


def _create_many(session: Session, actor: Actor, shop_id: int, drafts: list[ProductDraft],
                 layout: Layout, market: str, report: ImportReport) -> None:
    """A batch's new products through ``catalog.add_products`` in one savepoint. A product
    the catalog refuses is reported and the rest tried again (nothing was written); a
    clash at the write itself (another import at the same moment) falls back to one
    product at a time."""
    ready: list[tuple[ProductDraft, ProductCreate]] = []
    for draft in drafts:
        try:
            ready.append((draft, _product_input(draft, _new_skus(draft))))
        except ValidationError as error:
            _refuse(report, draft, "create", _refusal(draft, layout, market, error))
    while ready:
        try:
            with session.begin_nested():
                products = catalog.add_products(session, actor, shop_id,
                                                [data for _draft, data in ready])
                _link_created(session, shop_id, [
                    (draft, product) for (draft, _data), product in zip(
                        ready, products, strict=True)])
            return
        except catalog.ProductRefused as refused:
            draft, _data = ready.pop(refused.index)
            _refuse(report, draft, "create", _refusal(draft, layout, market, refused.error))
        except (DomainError, IntegrityError):
            for draft, _data in ready:
                _write_one(session, actor, shop_id, draft, None, layout, market, report,
                           "create")
            return


def _refuse(report: ImportReport, draft: ProductDraft, action: str, problem: Problem) -> None:
    _undo_count(report, action, draft)
    report.note([problem])


def _add_images(session: Session, product_id: int, draft: ProductDraft) -> None:
    known = set(session.scalars(select(ShopifyPendingImage.src)
                                .where(ShopifyPendingImage.product_id == product_id)))
    for image in draft.images:
        if image.src not in known:
            session.add(ShopifyPendingImage(product_id=product_id, src=image.src,
                                            position=image.position, alt=image.alt))


def _update(session: Session, actor: Actor, draft: ProductDraft, link: ShopifyProductLink,
            report: ImportReport) -> None:
    previous: dict[str, Any] = link.imported
    content = draft.content()
    changed = set(_changed(previous, content))
    fields = {name: content[name] for name in ("title", "description", "tags", "status")
              if name in changed}
    if fields:
        catalog.change_product(session, actor, link.product_id,
                               ProductUpdate.model_validate(fields))
    if changed & {"options", "variants"}:
        _update_variants(session, actor, draft, link, report)
    if "images" in changed:
        _add_images(session, link.product_id, draft)
    link.digest, link.imported, link.imported_at = draft.digest(), content, utcnow()


def _update_variants(session: Session, actor: Actor, draft: ProductDraft,
                     link: ShopifyProductLink, report: ImportReport) -> None:
    """The file's variants, matched to the ones imported before; a variant of the product
    that the file no longer lists is kept as it is (it may have stock or orders here)."""
    product = owned_product(session, actor, link.product_id)
    current = dict(zip([variant.id for variant in product.variants],
                       catalog.variants_of(product), strict=True))
    links = _variant_links(session, link)
    before = {_key(v["sku"], "\x1f".join(o.lower() for o in v["options"])): v["quantity"]
              for v in link.imported.get("variants", [])}
    wanted: list[VariantIn] = []
    matched: set[int] = set()
    for variant in draft.variants:
        known = links.get(_draft_key(variant))
        if known is not None and known.variant_id in current:
            kept = current[known.variant_id]
            matched.add(known.variant_id)
            wanted.append(_variant_input(variant, kept.sku, {
                code: price.model_dump() for code, price in kept.prices.items()}))
        else:
            wanted.append(_variant_input(variant, variant.sku or generated_sku(
                draft.handle, variant.options)))
    wanted += [kept for variant_id, kept in current.items() if variant_id not in matched]
    product = catalog.set_variants(session, actor, link.product_id, VariantsReplace(
        options=draft.option_names, variants=wanted))
    by_sku = {variant.sku.lower(): variant.id for variant in product.variants}
    for variant, data in zip(draft.variants, wanted, strict=False):
        variant_id = by_sku[data.sku.lower()]
        key = _draft_key(variant)
        known = links.get(key)
        if known is None:
            session.add(ShopifyVariantLink(product_link_id=link.id, variant_id=variant_id,
                                           sku=key[0], options_key=key[1],
                                           barcode=variant.barcode))
        else:
            known.barcode = variant.barcode
        if variant.quantity is None:
            continue
        difference = variant.quantity - (before.get(key) or 0)
        if difference > 0:
            inventory.receive(session, variant_id, difference, note=IMPORT_NOTE)
        elif difference < 0:
            report.note([Problem(variant.row, "", f"Shopify has {-difference} fewer in stock "
                                 "than at the last import; stock here is not lowered by an "
                                 "import (count it on the stock page)", error=False)])


# --- the use cases ---

def _chosen_market(session: Session, actor: Actor, shop_id: int, market: str) -> str:
    shop = owned_shop(session, actor, shop_id)
    code = get_market(market, field="market").code
    if code not in {entry.market for entry in shop.markets}:
        raise InvalidInput(f"The shop does not ship to {code}: add the market to the shop "
                           "first, or choose one it ships to", field="market")
    return code


def check_shop(db: Database, actor: Actor, shop_id: int, market: str) -> str:
    """The market's code, once the actor's shop is known to ship there (before any file)."""
    with db.read() as session:
        return _chosen_market(session, actor, shop_id, market)


def _shop_markets(db: Database, shop_id: int) -> list[str]:
    return list(catalog.shipping_by_market(db, shop_id))


def with_derived_prices(draft: ProductDraft, market: str, shop_markets: Iterable[str]
                        ) -> ProductDraft:
    """Each variant priced in every market the shop ships to: where the file gives no price
    (no ``Price / <Market>`` column), the markets' own rule works it out from the chosen
    market's price (``derive_prices``, liveshop/markets/model.py: the net price converted
    at fixed rates, plus the market's VAT, rounded up to .99), as the product form does."""
    source = MARKETS[market]
    for variant in draft.variants:
        if market not in variant.prices:
            continue
        amount, compare_at = variant.prices[market]
        missing = [MARKETS[code] for code in shop_markets if code not in variant.prices]
        for derived in derive_prices(amount, compare_at, source, missing):
            variant.prices[derived.market] = (derived.amount, derived.compare_at)
    return draft


def _start(text: TextIO, market: str, shop_markets: Sequence[str]
           ) -> tuple[Iterator[ProductDraft], FileProblems]:
    found = FileProblems()
    drafts = (with_derived_prices(draft, market, shop_markets)
              for draft in read_products(text, market, found))
    return drafts, found


def _finish_report(report: ImportReport, found: FileProblems) -> None:
    report.note(found.problems)
    report.problems.sort(key=lambda problem: problem.row)
    if found.layout is not None:
        report.unused_columns = found.layout.unused
        report.layout = "newer" if found.layout.newer else "older"


def dry_run(db: Database, actor: Actor, shop_id: int, text: TextIO, market: str,
            progress: Progress | None = None, rows_total: int = 0) -> ImportReport:
    """What importing the file would do, and every problem, writing nothing."""
    code = check_shop(db, actor, shop_id, market)
    report = ImportReport(market=code, dry_run=True, rows_total=rows_total)
    drafts, found = _start(text, code, _shop_markets(db, shop_id))
    for batch in _batches(drafts):
        with db.read() as session:
            layout = found.layout or _no_layout()
            links = _links(session, shop_id, [draft.handle for draft in batch])
            refused = _check_new(session, actor, shop_id, [
                draft for draft in batch
                if draft.handle not in links and not draft.has_errors], layout, code)
            for draft in batch:
                link = links.get(draft.handle)
                problem = refused.get(draft.handle)
                if link is not None and not draft.has_errors and (
                        link.digest != draft.digest()):
                    problem = _check_update(session, shop_id, draft, layout, code, link)
                _decide(report, draft, link, problem)
        report.rows = batch[-1].last_row - 1
        if progress is not None:
            progress(report.rows, rows_total)
    _finish_report(report, found)
    return report


def _no_layout() -> Layout:
    return Layout({}, {})


def start_run(db: Database, actor: Actor, shop_id: int, market: str, filename: str,
              file_sha256: str, rows_total: int) -> int:
    """The import run's row (its progress and report), before the first batch."""
    with db.transaction() as session:
        run_id = new_run(session, actor, shop_id, market, filename, file_sha256)
        session.get_one(ShopifyImport, run_id).rows_total = rows_total
        return run_id


def run_import(db: Database, actor: Actor, shop_id: int, text: TextIO, market: str,
               run_id: int, progress: Progress | None = None,
               rows_total: int = 0) -> ImportReport:
    """Import the file, one transaction per batch of products. A product the catalog refuses
    is skipped and reported; the others are written."""
    code = check_shop(db, actor, shop_id, market)
    report = ImportReport(market=code, dry_run=False, rows_total=rows_total)
    drafts, found = _start(text, code, _shop_markets(db, shop_id))

    def batch_done(session: Session, batch: list[ProductDraft]) -> None:
        report.rows = batch[-1].last_row - 1
        run = session.get(ShopifyImport, run_id)
        if run is not None:
            run.rows_done = report.rows

    try:
        for _batch in _apply(db, actor, shop_id, drafts, code, report,
                             lambda: found.layout or _no_layout(), batch_done):
            if progress is not None:
                progress(report.rows, rows_total)
    except BaseException:
        _close_run(db, run_id, report, "failed")
        raise
    _finish_report(report, found)
    _close_run(db, run_id, report, "done")
    return report


BatchDone = Callable[[Session, list[ProductDraft]], None]


def import_drafts(db: Database, actor: Actor, shop_id: int, drafts: Iterable[ProductDraft],
                  market: str, batch_done: BatchDone) -> ImportReport:
    """Import drafts from elsewhere than a file (a connected store's products) exactly as a
    file's: the same matching, rules, derived prices and batches. ``batch_done`` runs in
    each batch's transaction once its products are written."""
    code = check_shop(db, actor, shop_id, market)
    report = ImportReport(market=code, dry_run=False)
    markets = _shop_markets(db, shop_id)
    priced = (with_derived_prices(draft, code, markets) for draft in drafts)
    for _batch in _apply(db, actor, shop_id, iter(priced), code, report, _no_layout,
                         batch_done):
        pass
    report.problems.sort(key=lambda problem: problem.column)
    return report


def _apply(db: Database, actor: Actor, shop_id: int, drafts: Iterator[ProductDraft],
           market: str, report: ImportReport, layout_of: Callable[[], Layout],
           batch_done: BatchDone) -> Iterator[list[ProductDraft]]:
    """Write the drafts, a batch per transaction; yields each batch once committed."""
    refresh_at = 1
    for number, batch in enumerate(_batches(drafts), start=1):
        with db.transaction() as session:
            if number == refresh_at:
                # After batches 1, 5, 25, 125...: each time the tables grew fivefold.
                refresh_statistics(session, FILLED_TABLES)
                refresh_at *= 5
            owned_shop(session, actor, shop_id)
            links = _links(session, shop_id, [draft.handle for draft in batch])
            layout = layout_of()
            new: list[ProductDraft] = []
            for draft in batch:
                link = links.get(draft.handle)
                action = _decide(report, draft, link, None)
                if action == "create":
                    new.append(draft)
                elif action == "update" and link is not None:
                    _write_one(session, actor, shop_id, draft, link, layout, market,
                               report, action)
            _create_many(session, actor, shop_id, new, layout, market, report)
            batch_done(session, batch)
        yield batch


def _write_one(session: Session, actor: Actor, shop_id: int, draft: ProductDraft,
               link: ShopifyProductLink | None, layout: Layout, market: str,
               report: ImportReport, action: str) -> None:
    """One product in a savepoint of its own, so a refusal leaves the batch's others."""
    try:
        with session.begin_nested():
            if link is None:
                _create(session, actor, shop_id, draft)
            else:
                _update(session, actor, draft, link, report)
    except (DomainError, ValidationError) as error:
        _refuse(report, draft, action, _refusal(draft, layout, market, error))
    except IntegrityError:
        _refuse(report, draft, action, Problem(
            draft.row, layout.header(Column.HANDLE), "Imported meanwhile by another "
            "import; run this one again"))


def _undo_count(report: ImportReport, action: str, draft: ProductDraft) -> None:
    if action == "create":
        report.created -= 1
        report.pending_images -= len(draft.images)
        if draft.handle in report.created_handles:
            report.created_handles.remove(draft.handle)
    else:
        report.updated -= 1
        report.updated_handles.pop(draft.handle, None)
    report.skipped += 1
    if len(report.skipped_handles) < MAX_LISTED:
        report.skipped_handles.append(draft.handle)


def _close_run(db: Database, run_id: int, report: ImportReport, status: str) -> None:
    with db.transaction() as session:
        run = session.get(ShopifyImport, run_id)
        if run is not None:
            run.status, run.rows_done = status, report.rows
            run.report, run.finished_at = report.as_dict(), utcnow()


@dataclass(frozen=True)
class RunView:
    id: int
    shop_id: int
    status: str
    market: str
    filename: str
    rows_total: int
    rows_done: int
    report: dict[str, Any] | None


def get_run(db: Database, actor: Actor, run_id: int) -> RunView:
    with db.read() as session:
        run = session.get(ShopifyImport, run_id)
        if run is None:
            raise NotFound("No such import", field="import_id")
        owned_shop(session, actor, run.shop_id, field="import_id")
        return RunView(run.id, run.shop_id, run.status, run.market, run.filename,
                       run.rows_total, run.rows_done, run.report)


def set_total(db: Database, run_id: int, rows_total: int) -> None:
    with db.transaction() as session:
        run = session.get(ShopifyImport, run_id)
        if run is not None:
            run.rows_total = rows_total


def new_run(session: Session, actor: Actor, shop_id: int, market: str, filename: str,
            file_sha256: str) -> int:
    """Building block of ``start_run``: the run's row in the caller's transaction (the API
    stores it with the request's Idempotency-Key)."""
    code = _chosen_market(session, actor, shop_id, market)
    run = ShopifyImport(shop_id=shop_id, user_id=actor.user_id, market=code,
                        filename=filename[:255], file_sha256=file_sha256, rows_total=0,
                        report=None)
    session.add(run)
    session.flush()
    return run.id
