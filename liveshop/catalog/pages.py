"""Catalog HTML pages: the seller back office (shops, products, stock). The buyer's pages
(home, product) are liveshop/storefront/pages.py.

Seller forms post plain HTML; bad input re-renders the form with the submitted values and
the error, never a 500. Form fields use the same field paths as the API in messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from liveshop.accounts.model import Actor
from liveshop.catalog import model, service
from liveshop.catalog import stock as seller_stock
from liveshop.catalog.schemas import (
    PriceIn,
    ProductCreate,
    ProductUpdate,
    ProductView,
    ShopCreate,
    ShopMarketIn,
    ShopUpdate,
    VariantIn,
    VariantsReplace,
)
from liveshop.core.errors import DomainError, Forbidden, InvalidInput
from liveshop.markets.model import MARKETS, Market, derivation_rule, derive_prices
from liveshop.web.deps import Context, CurrentActor, CurrentMarket, FormCsrf
from liveshop.web.templating import render

router = APIRouter()

NEW_VARIANT_ROWS = 3
ROW_KEY = re.compile(r"variant-(\d+)-sku")


async def form_data(request: Request) -> FormData:
    # Starlette caches the parsed form, so FormCsrf and the route share one parse.
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def submitted(form: FormData) -> dict[str, str]:
    """Typed values, to re-fill a form shown again with an error."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def seller(actor: Actor) -> Actor:
    if not actor.can_sell():
        raise Forbidden("The seller area is for seller accounts", field="role")
    return actor


def status_of(error: DomainError | ValidationError) -> int:
    return error.status if isinstance(error, DomainError) else 422


def error_text(error: DomainError | ValidationError) -> tuple[str, str | None]:
    """A message a person can act on, plus the field path it concerns."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        return f"{field}: {first['msg']}", field
    if error.field and error.field != "csrf_token":
        return f"{error.field}: {error.message}", error.field
    return error.message, error.field


# --- seller: shops ---

def shop_form_markets(form: FormData) -> list[ShopMarketIn]:
    """Checked markets with shipping typed in major units ("4.99")."""
    chosen = []
    for code, market in MARKETS.items():
        if text(form, f"market_{code}"):
            amount = text(form, f"shipping_{code}") or "0"
            chosen.append(ShopMarketIn(market=code, shipping=model.parse_major(
                amount, market.currency, f"markets.{code}.shipping")))
    return chosen


def shop_form_values(shop: Any) -> dict[str, str]:
    values = {"name": shop.name, "description": shop.description}
    for entry in shop.markets:
        values[f"market_{entry.market}"] = "on"
        values[f"shipping_{entry.market}"] = model.format_major(entry.shipping, entry.currency)
    return values


# The seller home, /seller, is liveshop/seller/pages.py: it reads orders and shows too.

@router.get("/seller/shops/new")
def new_shop(request: Request, actor: CurrentActor) -> Response:
    seller(actor)
    return render(request, "catalog/seller/new_shop.html", form={}, error=None)


@router.post("/seller/shops", dependencies=[FormCsrf])
def create_shop(request: Request, actor: CurrentActor, context: Context,
                form: Form) -> Response:
    seller(actor)
    try:
        data = ShopCreate(name=text(form, "name"), description=text(form, "description"),
                          markets=shop_form_markets(form))
        shop = service.create_shop(context.db, actor, data)
    except (DomainError, ValidationError) as error:
        message, _ = error_text(error)
        return render(request, "catalog/seller/new_shop.html", status_code=status_of(error),
                      form=submitted(form), error=message)
    return redirect(f"/seller/shops/{shop.id}/products")


@router.get("/seller/shops/{shop_id}")
def shop_settings(request: Request, shop_id: int, actor: CurrentActor,
                  context: Context) -> Response:
    shop = service.get_owned_shop(context.db, actor, shop_id)
    return render(request, "catalog/seller/shop.html", shop=shop, form=shop_form_values(shop),
                  error=None, saved=request.query_params.get("saved") == "1")


@router.post("/seller/shops/{shop_id}", dependencies=[FormCsrf])
def save_shop(request: Request, shop_id: int, actor: CurrentActor, context: Context,
              form: Form) -> Response:
    shop = service.get_owned_shop(context.db, actor, shop_id)
    try:
        markets = shop_form_markets(form)
        update = ShopUpdate(name=text(form, "name"), description=text(form, "description"))
        service.update_shop(context.db, actor, shop_id, update)
        service.set_markets(context.db, actor, shop_id, markets)
    except (DomainError, ValidationError) as error:
        message, _ = error_text(error)
        return render(request, "catalog/seller/shop.html", status_code=status_of(error), shop=shop,
                      form=submitted(form), error=message, saved=False)
    return redirect(f"/seller/shops/{shop_id}?saved=1")


# --- seller: products ---

def variant_rows(form: Mapping[str, Any], option_count: int) -> list[tuple[int, VariantIn]]:
    """(row number shown to the seller, variant) for every filled-in variant row. Only the
    value boxes under named options count."""
    rows: list[tuple[int, VariantIn]] = []
    numbers = sorted(int(m.group(1)) for key in form if (m := ROW_KEY.fullmatch(key)))
    for number in numbers:
        prefix = f"variant-{number}-"
        options = [text(form, f"{prefix}opt{i}") for i in range(model.MAX_OPTIONS)]
        typed = {code: (text(form, f"{prefix}price-{code}").strip(),
                        text(form, f"{prefix}compare-{code}").strip()) for code in MARKETS}
        sku = text(form, f"{prefix}sku")
        if not sku.strip() and not any(options) and not any(a or c for a, c in typed.values()):
            continue
        at = f"variants.{len(rows)}"
        if not sku.strip():  # said here: the schema (VariantIn) would not name the row
            raise InvalidInput("SKU is required", field=f"{at}.sku")
        prices = {}
        for code, (amount, compare_at) in typed.items():
            currency = MARKETS[code].currency
            if not amount and not compare_at:
                continue
            if not amount:
                raise InvalidInput("Give a price, or clear the compare-at price",
                                   field=f"{at}.prices.{code}.amount")
            # Unchecked here: the catalog's rules (model.check_price) check it and name the
            # field as the row shows it, where the schema would name "amount" alone.
            prices[code] = PriceIn.model_construct(
                amount=model.parse_major(amount, currency, f"{at}.prices.{code}.amount"),
                compare_at=(model.parse_major(compare_at, currency,
                                              f"{at}.prices.{code}.compare_at")
                            if compare_at else None))
        weight = text(form, f"{prefix}weight").strip() or "0"
        if not weight.isdigit() or len(weight) > 7:
            raise InvalidInput("Weight is a whole number of grams",
                               field=f"{at}.weight_grams")
        rows.append((number, VariantIn(sku=sku, options=options[:option_count],
                                       weight_grams=int(weight), prices=prices)))
    return rows


def form_option_names(form: FormData) -> list[str]:
    return [name for i in range(model.MAX_OPTIONS) if (name := text(form, f"option_{i}"))]


def row_error(error: DomainError | ValidationError, rows: list[tuple[int, VariantIn]]) -> str:
    """Name the row as the seller sees it ("variant row 3") instead of the API index."""
    message, field = error_text(error)
    match = re.match(r"variants\.(\d+)\.?(.*)", field or "")
    if match and int(match.group(1)) < len(rows):
        where = f"Variant row {rows[int(match.group(1))][0] + 1}"
        detail = match.group(2)
        prefix = f"{field}: "
        body = message.removeprefix(prefix)
        return f"{where}{', ' + detail if detail else ''}: {body}"
    return message


# --- one price, the other markets worked out (markets/model.py derive_price) ---

PRICE_KINDS = ("price", "compare")


@dataclass(frozen=True)
class PriceForm:
    """How the variant rows ask for prices: one price in ``base`` (the shop's main market),
    the shop's other markets worked out from it (``derived``) and shown for the seller to
    change; ``others`` are markets the shop does not ship to, priced only by hand. Without
    a market to ship to (``base`` None) every market is priced by hand."""

    base: Market | None
    derived: list[Market]
    others: list[Market]
    rule: str


def price_form(shop_markets: list[str], chosen: str | None, visitor: Market) -> PriceForm:
    """The main market: the one chosen on the form, else the visitor's market if the shop
    ships there, else the first the shop ships to."""
    shipped = [MARKETS[code] for code in MARKETS if code in shop_markets]
    if not shipped:
        return PriceForm(None, [], list(MARKETS.values()), derivation_rule())
    base = next((m for m in shipped if m.code == chosen), None) or next(
        (m for m in shipped if m.code == visitor.code), shipped[0])
    return PriceForm(base, [m for m in shipped if m != base],
                     [m for m in MARKETS.values() if m not in shipped], derivation_rule())


def _typed_amount(values: Mapping[str, str], key: str, currency: str) -> int | None:
    typed = values.get(key, "").strip()
    try:
        amount = model.parse_major(typed, currency, key) if typed else None
    except DomainError:  # said when the row is read (variant_rows), naming the field
        return None
    return amount if amount is not None and amount > 0 else None


def _derived_texts(values: Mapping[str, str], prefix: str, prices: PriceForm
                   ) -> dict[str, str]:
    """``{prefix}derived-{kind}-{market}`` -> the price worked out from the row's main-market
    price as typed ("" when it is empty or not an amount)."""
    base = prices.base
    assert base is not None
    amount = _typed_amount(values, f"{prefix}price-{base.code}", base.currency)
    compare_at = _typed_amount(values, f"{prefix}compare-{base.code}", base.currency)
    worked_out = {} if amount is None else {
        price.market: price for price in derive_prices(amount, compare_at, base, prices.derived)}
    texts: dict[str, str] = {}
    for market in prices.derived:
        price = worked_out.get(market.code)
        texts[f"{prefix}derived-price-{market.code}"] = model.format_major(
            price.amount if price else None, market.currency)
        texts[f"{prefix}derived-compare-{market.code}"] = model.format_major(
            price.compare_at if price else None, market.currency)
    return texts


def _rows_in(values: Mapping[str, Any]) -> list[int]:
    return sorted(int(m.group(1)) for key in values if (m := ROW_KEY.fullmatch(key)))


def with_derived_prices(values: dict[str, str], prices: PriceForm) -> dict[str, str]:
    """The posted form with every worked-out price brought up to date.

    The form posts, beside each market's box, the price it showed there as worked out
    (``variant-N-derived-price-DE``). A box still holding that value was left to the rule,
    so it follows the main-market price as now typed (with or without the page's script);
    a box the seller changed or emptied is theirs and is kept as typed (empty: not sold
    there). A form without a main market (the older form, API-like posts) is unchanged."""
    if prices.base is None or values.get("base_market") != prices.base.code:
        return values
    result = dict(values)
    for number in _rows_in(values):
        prefix = f"variant-{number}-"
        worked_out = _derived_texts(values, prefix, prices)
        for market in prices.derived:
            for kind in PRICE_KINDS:
                shown = values.get(f"{prefix}derived-{kind}-{market.code}")
                box = f"{prefix}{kind}-{market.code}"
                if shown is None or values.get(box, "").strip() == shown.strip():
                    result[box] = worked_out[f"{prefix}derived-{kind}-{market.code}"]
    return result


def shown_with_derived(values: dict[str, str], prices: PriceForm, rows: int
                       ) -> dict[str, str]:
    """Form values to render: each row's worked-out prices beside the typed ones, so the
    page can tell a price that follows the rule from one the seller set."""
    if prices.base is None:
        return values
    result = dict(values)
    for number in range(rows):
        prefix = f"variant-{number}-"
        worked_out = _derived_texts(values, prefix, prices)
        result.update(worked_out)
        for key, text in worked_out.items():
            box = key.replace("derived-", "", 1)
            result.setdefault(box, text)
    result["base_market"] = prices.base.code
    return result


def product_form_values(product: ProductView) -> dict[str, str]:
    values = {"title": product.title, "description": product.description,
              "tags": ", ".join(product.tags), "status": product.status.value}
    for index, name in enumerate(product.options):
        values[f"option_{index}"] = name
    for row, variant in enumerate(product.variants):
        prefix = f"variant-{row}-"
        values[f"{prefix}sku"] = variant.sku
        values[f"{prefix}weight"] = str(variant.weight_grams)
        for index, value in enumerate(variant.options):
            values[f"{prefix}opt{index}"] = value
        for code in MARKETS:  # a market it is not sold in stays empty, never worked out
            values[f"{prefix}price-{code}"] = values[f"{prefix}compare-{code}"] = ""
        for code, price in variant.prices.items():
            values[f"{prefix}price-{code}"] = model.format_major(price.amount, price.currency)
            values[f"{prefix}compare-{code}"] = model.format_major(price.compare_at,
                                                                   price.currency)
    return values


def row_count(form: dict[str, str]) -> int:
    used = [int(m.group(1)) + 1 for key in form if (m := ROW_KEY.fullmatch(key))]
    return max(used, default=0) + 1 if used else NEW_VARIANT_ROWS


def shop_price_form(request: Request, shop: Any, form: Mapping[str, str], market: Market
                    ) -> PriceForm:
    chosen = form.get("base_market") or request.query_params.get("base_market")
    return price_form([entry.market for entry in shop.markets], chosen, market)


def render_shop_products(request: Request, context: Context, actor: Actor, shop_id: int,
                         market: Market, form: dict[str, str], error: str | None,
                         status_code: int = 200) -> Response:
    shop = service.get_owned_shop(context.db, actor, shop_id)
    products = service.shop_products(context.db, actor, shop_id, market)
    prices = shop_price_form(request, shop, form, market)
    rows = row_count(form)
    return render(request, "catalog/seller/products.html", status_code=status_code, shop=shop,
                  products=products, form=shown_with_derived(form, prices, rows), error=error,
                  rows=rows, prices=prices, statuses=list(model.ProductStatus))


@router.get("/seller/shops/{shop_id}/products")
def shop_products(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                  market: CurrentMarket) -> Response:
    return render_shop_products(request, context, actor, shop_id, market, {}, None)


@router.post("/seller/shops/{shop_id}/products", dependencies=[FormCsrf])
def create_product(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                   market: CurrentMarket, form: Form) -> Response:
    shop = service.get_owned_shop(context.db, actor, shop_id)
    values = with_derived_prices(submitted(form), shop_price_form(request, shop, {
        "base_market": text(form, "base_market")}, market))
    if text(form, "preview"):  # "Show every market's price": worked out, not saved
        return render_shop_products(request, context, actor, shop_id, market, values, None)
    rows: list[tuple[int, VariantIn]] = []
    try:
        names = form_option_names(form)
        rows = variant_rows(values, len(names))
        data = ProductCreate.model_validate({
            "title": text(form, "title"), "description": text(form, "description"),
            "tags": model.parse_tag_text(text(form, "tags")),
            "status": text(form, "status") or model.ProductStatus.DRAFT,
            "options": names, "variants": [variant for _, variant in rows],
        })
        product = service.create_product(context.db, actor, shop_id, data, market)
    except (DomainError, ValidationError) as error:
        return render_shop_products(request, context, actor, shop_id, market, values,
                                    row_error(error, rows), status_code=status_of(error))
    return redirect(f"/seller/products/{product.id}?saved=1")


def render_product_editor(request: Request, context: Context, actor: Actor, product_id: int,
                          market: Market, form: dict[str, str] | None = None,
                          error: str | None = None, status_code: int = 200) -> Response:
    product = service.get_owned_product(context.db, actor, product_id, market)
    values = form if form is not None else product_form_values(product)
    prices = shop_price_form(request, service.get_owned_shop(context.db, actor,
                                                             product.shop_id), values, market)
    rows = row_count(values)
    return render(request, "catalog/seller/product_edit.html", status_code=status_code,
                  product=product, form=shown_with_derived(values, prices, rows), rows=rows,
                  prices=prices, error=error, statuses=list(model.ProductStatus),
                  max_upload_mb=context.settings.max_upload_bytes // (1024 * 1024),
                  saved=request.query_params.get("saved") == "1")


@router.get("/seller/products/{product_id}")
def edit_product(request: Request, product_id: int, actor: CurrentActor, context: Context,
                 market: CurrentMarket) -> Response:
    return render_product_editor(request, context, actor, product_id, market)


@router.post("/seller/products/{product_id}", dependencies=[FormCsrf])
def save_product(request: Request, product_id: int, actor: CurrentActor, context: Context,
                 market: CurrentMarket, form: Form) -> Response:
    try:
        update = ProductUpdate.model_validate({
            "title": text(form, "title"), "description": text(form, "description"),
            "tags": model.parse_tag_text(text(form, "tags")),
            "status": text(form, "status") or None,
        })
        service.update_product(context.db, actor, product_id, update, market)
    except (DomainError, ValidationError) as error:
        current = product_form_values(
            service.get_owned_product(context.db, actor, product_id, market))
        return render_product_editor(request, context, actor, product_id, market,
                                     {**current, **submitted(form)}, error_text(error)[0],
                                     status_of(error))
    return redirect(f"/seller/products/{product_id}?saved=1")


@router.post("/seller/products/{product_id}/variants", dependencies=[FormCsrf])
def save_variants(request: Request, product_id: int, actor: CurrentActor, context: Context,
                  market: CurrentMarket, form: Form) -> Response:
    product = service.get_owned_product(context.db, actor, product_id, market)
    values = with_derived_prices(submitted(form), shop_price_form(
        request, service.get_owned_shop(context.db, actor, product.shop_id),
        {"base_market": text(form, "base_market")}, market))
    if text(form, "preview"):
        details = {k: v for k, v in product_form_values(product).items()
                   if k in ("title", "description", "tags", "status")}
        return render_product_editor(request, context, actor, product_id, market,
                                     {**details, **values})
    rows: list[tuple[int, VariantIn]] = []
    try:
        names = form_option_names(form)
        rows = variant_rows(values, len(names))
        data = VariantsReplace(options=names, variants=[variant for _, variant in rows])
        service.replace_variants(context.db, actor, product_id, data, market)
    except (DomainError, ValidationError) as error:
        current = product_form_values(
            service.get_owned_product(context.db, actor, product_id, market))
        details = {k: v for k, v in current.items()
                   if k in ("title", "description", "tags", "status")}
        return render_product_editor(request, context, actor, product_id, market,
                                     {**details, **values}, row_error(error, rows),
                                     status_of(error))
    return redirect(f"/seller/products/{product_id}?saved=1")


@router.post("/seller/products/{product_id}/images", dependencies=[FormCsrf])
def upload_image(request: Request, product_id: int, actor: CurrentActor, context: Context,
                 market: CurrentMarket, form: Form) -> Response:
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("Choose an image file to upload", field="file")
        data = upload.file.read(context.settings.max_upload_bytes + 1)
        service.add_image(context.db, context.settings, actor, product_id, data,
                          text(form, "alt"))
    except DomainError as error:
        return render_product_editor(request, context, actor, product_id, market,
                                     error=error_text(error)[0],
                                     status_code=error.status)
    return redirect(f"/seller/products/{product_id}?saved=1#images")


@router.post("/seller/products/{product_id}/images/{image_id}/delete",
             dependencies=[FormCsrf])
def delete_image(product_id: int, image_id: int, actor: CurrentActor,
                 context: Context) -> Response:
    service.delete_image(context.db, context.settings, actor, product_id, image_id)
    return redirect(f"/seller/products/{product_id}#images")


# --- seller: stock ---

def render_stock(request: Request, context: Context, actor: Actor, shop_id: int,
                 error: str | None = None, status_code: int = 200) -> Response:
    shop = service.get_owned_shop(context.db, actor, shop_id)
    stock = seller_stock.shop_stock(context.db, actor, shop_id)
    return render(request, "catalog/seller/stock.html", status_code=status_code, shop=shop,
                  stock=stock, error=error, received=request.query_params.get("received"))


@router.get("/seller/shops/{shop_id}/stock")
def shop_stock(request: Request, shop_id: int, actor: CurrentActor,
               context: Context) -> Response:
    return render_stock(request, context, actor, shop_id)


@router.post("/seller/shops/{shop_id}/stock/{variant_id}", dependencies=[FormCsrf])
def receive_stock(request: Request, shop_id: int, variant_id: int, actor: CurrentActor,
                  context: Context, form: Form) -> Response:
    service.get_owned_shop(context.db, actor, shop_id)
    typed = text(form, "quantity").strip()
    try:
        if not typed.isdigit() or len(typed) > 7:
            raise InvalidInput("Quantity is a whole number like 10", field="quantity")
        view = seller_stock.receive_stock(context.db, actor, variant_id, int(typed))
    except DomainError as error:
        return render_stock(request, context, actor, shop_id, error_text(error)[0],
                            status_of(error))
    return redirect(f"/seller/shops/{shop_id}/stock?" + urlencode({"received": view.sku}))
