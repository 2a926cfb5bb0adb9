"""Catalog HTML pages: the seller back office (shops, products, stock). The buyer's pages
(home, product) are liveshop/storefront/pages.py.

Seller forms post plain HTML; bad input re-renders the form with the submitted values and
the error, never a 500. Form fields use the same field paths as the API in messages.
"""

from __future__ import annotations

import re
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
from liveshop.markets.model import MARKETS, Market
from liveshop.web.deps import Context, CurrentActor, CurrentMarket, FormCsrf
from liveshop.web.templating import render

router = APIRouter()

NEW_VARIANT_ROWS = 3
ROW_KEY = re.compile(r"variant-(\d+)-sku")


async def form_data(request: Request) -> FormData:
    # Starlette caches the parsed form, so FormCsrf and the route share one parse.
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def text(form: FormData, key: str) -> str:
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

def variant_rows(form: FormData, option_count: int) -> list[tuple[int, VariantIn]]:
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
        for code, price in variant.prices.items():
            values[f"{prefix}price-{code}"] = model.format_major(price.amount, price.currency)
            values[f"{prefix}compare-{code}"] = model.format_major(price.compare_at,
                                                                   price.currency)
    return values


def row_count(form: dict[str, str]) -> int:
    used = [int(m.group(1)) + 1 for key in form if (m := ROW_KEY.fullmatch(key))]
    return max(used, default=0) + 1 if used else NEW_VARIANT_ROWS


def render_shop_products(request: Request, context: Context, actor: Actor, shop_id: int,
                         market: Market, form: dict[str, str], error: str | None,
                         status_code: int = 200) -> Response:
    shop = service.get_owned_shop(context.db, actor, shop_id)
    products = service.shop_products(context.db, actor, shop_id, market)
    return render(request, "catalog/seller/products.html", status_code=status_code, shop=shop,
                  products=products, form=form, error=error, rows=row_count(form),
                  statuses=list(model.ProductStatus))


@router.get("/seller/shops/{shop_id}/products")
def shop_products(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                  market: CurrentMarket) -> Response:
    return render_shop_products(request, context, actor, shop_id, market, {}, None)


@router.post("/seller/shops/{shop_id}/products", dependencies=[FormCsrf])
def create_product(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                   market: CurrentMarket, form: Form) -> Response:
    service.get_owned_shop(context.db, actor, shop_id)
    rows: list[tuple[int, VariantIn]] = []
    try:
        names = form_option_names(form)
        rows = variant_rows(form, len(names))
        data = ProductCreate.model_validate({
            "title": text(form, "title"), "description": text(form, "description"),
            "tags": model.parse_tag_text(text(form, "tags")),
            "status": text(form, "status") or model.ProductStatus.DRAFT,
            "options": names, "variants": [variant for _, variant in rows],
        })
        product = service.create_product(context.db, actor, shop_id, data, market)
    except (DomainError, ValidationError) as error:
        return render_shop_products(request, context, actor, shop_id, market, submitted(form),
                                    row_error(error, rows), status_code=status_of(error))
    return redirect(f"/seller/products/{product.id}?saved=1")


def render_product_editor(request: Request, context: Context, actor: Actor, product_id: int,
                          market: Market, form: dict[str, str] | None = None,
                          error: str | None = None, status_code: int = 200) -> Response:
    product = service.get_owned_product(context.db, actor, product_id, market)
    values = form if form is not None else product_form_values(product)
    return render(request, "catalog/seller/product_edit.html", status_code=status_code,
                  product=product, form=values, error=error, rows=row_count(values),
                  statuses=list(model.ProductStatus),
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
    rows: list[tuple[int, VariantIn]] = []
    try:
        names = form_option_names(form)
        rows = variant_rows(form, len(names))
        data = VariantsReplace(options=names, variants=[variant for _, variant in rows])
        service.replace_variants(context.db, actor, product_id, data, market)
    except (DomainError, ValidationError) as error:
        current = product_form_values(
            service.get_owned_product(context.db, actor, product_id, market))
        details = {k: v for k, v in current.items()
                   if k in ("title", "description", "tags", "status")}
        return render_product_editor(request, context, actor, product_id, market,
                                     {**details, **submitted(form)}, row_error(error, rows),
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
