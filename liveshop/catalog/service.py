"""Catalog use cases: shops, products, variants and prices, images, browsing.

Each public function owns its transaction. Visibility rule for buyers: a product shows in
a market only if it is active, its shop ships there and at least one variant has a price
there. Owners (and admins) see their own products in every state.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, exists, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog import model
from liveshop.catalog.access import owned_product, owned_shop
from liveshop.catalog.orm import Product, ProductImage, Shop, ShopMarket, Variant, VariantPrice
from liveshop.catalog.schemas import (
    ImageView,
    PriceIn,
    PriceView,
    ProductCard,
    ProductCreate,
    ProductPage,
    ProductUpdate,
    ProductView,
    ShopCreate,
    ShopMarketIn,
    ShopMarketView,
    ShopUpdate,
    ShopView,
    VariantIn,
    VariantsReplace,
    VariantView,
)
from liveshop.core import media
from liveshop.core.config import Settings
from liveshop.core.db import Database, insert_rows, utcnow
from liveshop.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from liveshop.core.inputs import clean_line
from liveshop.inventory import service as inventory
from liveshop.inventory.orm import StockLevel
from liveshop.markets.model import MARKETS, Market

MAX_IMAGES = 12
MAX_PER_PAGE = 60


class NotInMarket(NotFound):
    """The product exists and is on sale, just not in the visitor's market."""

    code = "not_in_market"

    def __init__(self, message: str, *, markets: list[str]):
        super().__init__(message, field="market")
        self.markets = markets


# --- shops ---

def _shop_view(shop: Shop) -> ShopView:
    return ShopView(
        id=shop.id, owner_id=shop.owner_id, name=shop.name, slug=shop.slug,
        description=shop.description, created_at=shop.created_at,
        suspended_at=shop.suspended_at,
        markets=[
            ShopMarketView(market=entry.market, currency=MARKETS[entry.market].currency,
                           shipping=entry.shipping_minor,
                           shipping_formatted=MARKETS[entry.market].format(entry.shipping_minor))
            for entry in sorted(shop.markets, key=lambda e: list(MARKETS).index(e.market))
        ],
    )


def _free_slug(session: Session, name: str) -> str:
    base = model.slugify(name)
    taken = set(session.scalars(
        select(Shop.slug).where(or_(Shop.slug == base, Shop.slug.like(f"{base}-%")))
    ))
    slug, suffix = base, 2
    while slug in taken:
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


def _set_markets(shop: Shop, markets: Sequence[ShopMarketIn]) -> None:
    wanted = model.check_shop_markets([(entry.market, entry.shipping) for entry in markets])
    current = {entry.market: entry for entry in shop.markets}
    # Update in place: replacing rows with the same primary key would collide in one flush.
    for code, entry in current.items():
        if code not in wanted:
            shop.markets.remove(entry)
    for code, shipping in wanted.items():
        if code in current:
            current[code].shipping_minor = shipping
        else:
            shop.markets.append(ShopMarket(market=code, shipping_minor=shipping))


def create_shop(db: Database, actor: Actor, data: ShopCreate) -> ShopView:
    if not actor.can_sell():
        raise Forbidden("Only sellers can open a shop; sign up as a seller", field="role")
    name = model.check_text(data.name, "name")
    try:
        with db.transaction() as session:
            shop = Shop(owner_id=actor.user_id, name=name, slug=_free_slug(session, name),
                        description=data.description.strip(), markets=[])
            _set_markets(shop, data.markets)
            session.add(shop)
            session.flush()
            return _shop_view(shop)
    except IntegrityError:
        # Another shop took the same slug between our check and insert.
        raise Conflict("A shop with this name was just created; try again",
                       field="name") from None


def my_shops(db: Database, actor: Actor) -> list[ShopView]:
    with db.read() as session:
        return owned_shops(session, actor)


def owned_shops(session: Session, actor: Actor) -> list[ShopView]:
    """The actor's own shops, oldest first (two queries: shops, their markets)."""
    shops = session.scalars(
        select(Shop).where(Shop.owner_id == actor.user_id).order_by(Shop.id)
    ).all()
    return [_shop_view(shop) for shop in shops]


def get_shop(db: Database, shop_id: int) -> ShopView:
    with db.read() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise NotFound("No such shop", field="shop_id")
        return _shop_view(shop)


def shop_by_slug(db: Database, slug: str) -> ShopView:
    """The shop whose page is /{slug} (404 for anything else)."""
    if not model.is_shop_slug(slug):
        raise NotFound("No such shop", field="shop_slug")
    with db.read() as session:
        shop = session.scalars(select(Shop).where(Shop.slug == slug)).one_or_none()
        if shop is None or shop.suspended_at is not None:
            raise NotFound("No such shop", field="shop_slug")
        return _shop_view(shop)


def set_shop_suspended(session: Session, shop_id: int, suspended: bool) -> tuple[Shop, bool]:
    """Suspend or reinstate a shop inside the caller's transaction (a platform admin's use
    case, liveshop/admin): a suspended shop is not listed, its page and products are not
    found and nothing of it can be bought (``_sold_in``, ``_visible_in``,
    checkout's ``VariantInMarket.problem``). The shop's row, locked, as it now is, and
    whether it was suspended before."""
    shop = session.get(Shop, shop_id, with_for_update=True)
    if shop is None:
        raise NotFound("No such shop", field="shop_id")
    was_suspended = shop.suspended_at is not None
    if suspended:
        shop.suspended_at = shop.suspended_at or utcnow()
    else:
        shop.suspended_at = None
    return shop, was_suspended


def shipping_by_market(db: Database, shop_id: int) -> dict[str, int]:
    """The shop's flat shipping per market it ships to (minor units), in one query."""
    with db.read() as session:
        return {market: shipping for market, shipping in session.execute(
            select(ShopMarket.market, ShopMarket.shipping_minor)
            .where(ShopMarket.shop_id == shop_id))}


def get_owned_shop(db: Database, actor: Actor, shop_id: int) -> ShopView:
    with db.read() as session:
        return _shop_view(owned_shop(session, actor, shop_id))


def update_shop(db: Database, actor: Actor, shop_id: int, data: ShopUpdate) -> ShopView:
    with db.transaction() as session:
        shop = owned_shop(session, actor, shop_id)
        if data.name is not None:
            shop.name = model.check_text(data.name, "name")
        if data.description is not None:
            shop.description = data.description.strip()
        session.flush()
        return _shop_view(shop)


def set_markets(db: Database, actor: Actor, shop_id: int,
                markets: Sequence[ShopMarketIn]) -> ShopView:
    with db.transaction() as session:
        shop = owned_shop(session, actor, shop_id)
        _set_markets(shop, markets)
        session.flush()
        return _shop_view(shop)


# --- product views ---

def _price_view(price: VariantPrice) -> PriceView:
    market = MARKETS[price.market]
    return PriceView(
        market=price.market, currency=price.currency, amount=price.amount_minor,
        compare_at=price.compare_at_minor, formatted=market.format(price.amount_minor),
        compare_at_formatted=(market.format(price.compare_at_minor)
                              if price.compare_at_minor is not None else None),
    )


def _price_in(variant: Variant, market: Market) -> VariantPrice | None:
    return next((price for price in variant.prices if price.market == market.code), None)


def _option_names(product: Product) -> list[str]:
    names = (product.option1_name, product.option2_name, product.option3_name)
    return [name for name in names if name]


def _option_values(variant: Variant, count: int) -> list[str]:
    return [value or "" for value in (variant.option1, variant.option2, variant.option3)[:count]]


def _image_view(image: ProductImage) -> ImageView:
    return ImageView(id=image.id, url=media.url_of(image.path), alt=image.alt,
                     width=image.width, height=image.height, content_type=image.content_type)


def _product_view(session: Session, product: Product, shop: Shop, market: Market,
                  owner: bool) -> ProductView:
    names = _option_names(product)
    variants = [v for v in product.variants if owner or _price_in(v, market) is not None]
    stock = inventory.stock_of(session, [v.id for v in variants])
    views = []
    for variant in variants:
        level = stock.get(variant.id)
        available = level.available if level else 0
        price = _price_in(variant, market)
        values = _option_values(variant, len(names))
        views.append(VariantView(
            id=variant.id, sku=variant.sku, title=model.variant_title(values), options=values,
            weight_grams=variant.weight_grams,
            prices={p.market: _price_view(p) for p in sorted(
                variant.prices, key=lambda p: list(MARKETS).index(p.market))},
            price=_price_view(price) if price else None,
            available=available, stock_label=model.stock_label(available),
        ))
    return ProductView(
        id=product.id, shop_id=shop.id, shop_name=shop.name, shop_slug=shop.slug,
        title=product.title,
        description=product.description, tags=model.split_tags(product.tags),
        status=model.ProductStatus(product.status), options=names, market=market.code,
        tax_note=model.tax_note(market), variants=views,
        images=[_image_view(image) for image in product.images],
        created_at=product.created_at, updated_at=product.updated_at,
    )


def _is_owner(actor: Actor | None, shop: Shop) -> bool:
    return actor is not None and (actor.user_id == shop.owner_id or actor.is_admin)


def _sold_in(product: Product, shop: Shop) -> list[str]:
    """Markets where buyers can see this product."""
    if product.status != model.ProductStatus.ACTIVE or shop.suspended_at is not None:
        return []
    ships = {entry.market for entry in shop.markets}
    priced = {price.market for variant in product.variants for price in variant.prices}
    return [code for code in MARKETS if code in ships and code in priced]


# --- products ---

def _variant_inputs(variants: Sequence[VariantIn]) -> list[model.VariantInput]:
    return [
        model.VariantInput(
            sku=v.sku, options=v.options, weight_grams=v.weight_grams,
            prices={code: (price.amount, price.compare_at) for code, price in v.prices.items()},
        )
        for v in variants
    ]


def _check_skus_free(session: Session, shop_id: int, product_id: int | None,
                     rules: Sequence[model.VariantRule]) -> None:
    """SKUs are unique per shop, compared without case so 'ab-1' and 'AB-1' never coexist."""
    wanted = {rule.sku.lower(): index for index, rule in enumerate(rules)}
    query = select(Variant.sku).where(Variant.shop_id == shop_id,
                                      func.lower(Variant.sku).in_(list(wanted)))
    if product_id is not None:
        query = query.where(Variant.product_id != product_id)
    clashes = sorted(session.scalars(query), key=lambda sku: wanted[sku.lower()])
    if clashes:
        raise _sku_taken(clashes[0], wanted[clashes[0].lower()])


def _apply_variant(variant: Variant, rule: model.VariantRule, position: int) -> None:
    values = [*rule.options, None, None, None]
    variant.sku = rule.sku
    variant.option1, variant.option2, variant.option3 = values[0], values[1], values[2]
    variant.weight_grams = rule.weight_grams
    variant.position = position
    wanted = {price.market: price for price in rule.prices}
    current = {price.market: price for price in variant.prices}
    # In place, as for shop markets: same primary key rows cannot be swapped in one flush.
    for code, stale in current.items():
        if code not in wanted:
            variant.prices.remove(stale)
    for code, price in wanted.items():
        row = current.get(code)
        if row is None:
            variant.prices.append(VariantPrice(market=code, currency=price.currency,
                                               amount_minor=price.amount,
                                               compare_at_minor=price.compare_at))
        else:
            row.currency, row.amount_minor = price.currency, price.amount
            row.compare_at_minor = price.compare_at


def _set_option_names(product: Product, names: Sequence[str]) -> None:
    padded = [*names, None, None, None]
    product.option1_name, product.option2_name, product.option3_name = (
        padded[0], padded[1], padded[2])


def _flush_variants(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("A SKU was just taken by another product; reload and retry",
                       field="variants", code="sku_taken") from None


@dataclass(frozen=True)
class CheckedProduct:
    """A new product's input with every catalog rule applied: what add_product writes."""

    title: str
    description: str
    tags: list[str]
    status: str
    option_names: list[str]
    variants: list[model.VariantRule]


def check_product(data: ProductCreate) -> CheckedProduct:
    """The catalog's rules for a new product, without the database (an importer's dry run
    asks the same questions as the product form)."""
    title = model.check_text(data.title, "title")
    tags = model.normalise_tags(data.tags)
    names = model.check_option_names(data.options)
    rules = model.check_variants(names, _variant_inputs(data.variants))
    return CheckedProduct(title, data.description.strip(), tags, data.status.value, names,
                          rules)


def check_skus_free(session: Session, shop_id: int, product_id: int | None,
                    skus: Sequence[str]) -> None:
    """Conflict (naming ``variants.N.sku``) when another product of the shop uses a SKU."""
    _check_skus_free(session, shop_id, product_id,
                     [model.VariantRule(sku, (), 0, ()) for sku in skus])


class ProductRefused(Exception):
    """One product of a batch (``add_products``) breaks a rule: which one, and the error,
    naming its field as for a single product (``variants.1.sku``). Nothing was written."""

    def __init__(self, index: int, error: DomainError):
        super().__init__(error.message)
        self.index, self.error = index, error


def _sku_taken(sku: str, variant_index: int) -> Conflict:
    return Conflict(f"SKU {sku!r} is already used by another product in this shop",
                    field=f"variants.{variant_index}.sku", code="sku_taken")


def _check_batch_skus(session: Session, shop_id: int,
                      checked: Sequence[CheckedProduct]) -> None:
    """New products' SKUs: unique among themselves and free in the shop (one query)."""
    first: dict[str, tuple[int, int]] = {}
    for index, product in enumerate(checked):
        for position, rule in enumerate(product.variants):
            if rule.sku.lower() in first:
                raise ProductRefused(index, _sku_taken(rule.sku, position))
            first[rule.sku.lower()] = (index, position)
    if not first:
        return
    taken = session.scalars(select(Variant.sku).where(
        Variant.shop_id == shop_id, func.lower(Variant.sku).in_(list(first))))
    clashes = sorted((first[sku.lower()], sku) for sku in taken)
    if clashes:
        (index, position), sku = clashes[0]
        raise ProductRefused(index, _sku_taken(sku, position))


def check_new_products(session: Session, actor: Actor, shop_id: int,
                       products: Sequence[ProductCreate]) -> list[CheckedProduct]:
    """Building block: what ``add_products`` checks before it writes (an importer's dry run
    asks it without writing): the first product that breaks a rule is ProductRefused."""
    checked: list[CheckedProduct] = []
    for index, data in enumerate(products):
        try:
            checked.append(check_product(data))
        except DomainError as error:
            raise ProductRefused(index, error) from None
    owned_shop(session, actor, shop_id)
    _check_batch_skus(session, shop_id, checked)
    return checked


@dataclass(frozen=True)
class NewProduct:
    id: int
    # In the order of the input's variants.
    variant_ids: list[int]


def add_products(session: Session, actor: Actor, shop_id: int,
                 products: Sequence[ProductCreate]) -> list[NewProduct]:
    """Building block (the caller's transaction): create products in the actor's shop, in
    three INSERTs however many (an import's batch). Every rule is checked for every product
    before anything is written; the first product that breaks one is ProductRefused."""
    checked = check_new_products(session, actor, shop_id, products)
    if not checked:
        return []
    shop = owned_shop(session, actor, shop_id)
    now = utcnow()
    product_ids = list(session.scalars(
        insert(Product).returning(Product.id, sort_by_parameter_order=True),
        [{"shop_id": shop.id, "title": rules.title, "description": rules.description,
          "tags": model.join_tags(rules.tags), "status": rules.status,
          **_option_name_columns(rules.option_names), "created_at": now, "updated_at": now}
         for rules in checked]))
    variant_rows = [
        {"product_id": product_id, "shop_id": shop.id, "sku": rule.sku,
         **_option_value_columns(rule.options), "weight_grams": rule.weight_grams,
         "position": position}
        for product_id, rules in zip(product_ids, checked, strict=True)
        for position, rule in enumerate(rules.variants)]
    try:
        variant_ids = list(session.scalars(
            insert(Variant).returning(Variant.id, sort_by_parameter_order=True), variant_rows))
    except IntegrityError:
        raise Conflict("A SKU was just taken by another product; reload and retry",
                       field="variants", code="sku_taken") from None
    rules_in_order = [rule for rules in checked for rule in rules.variants]
    prices = [{"variant_id": variant_id, "market": price.market, "currency": price.currency,
               "amount_minor": price.amount, "compare_at_minor": price.compare_at}
              for variant_id, rule in zip(variant_ids, rules_in_order, strict=True)
              for price in rule.prices]
    insert_rows(session, VariantPrice, prices)
    inventory.ensure_levels(session, variant_ids)
    created, start = [], 0
    for product_id, rules in zip(product_ids, checked, strict=True):
        created.append(NewProduct(product_id, variant_ids[start:start + len(rules.variants)]))
        start += len(rules.variants)
    return created


def _option_name_columns(names: Sequence[str]) -> dict[str, str | None]:
    padded = [*names, None, None, None]
    return {"option1_name": padded[0], "option2_name": padded[1], "option3_name": padded[2]}


def _option_value_columns(values: Sequence[str]) -> dict[str, str | None]:
    padded = [*values, None, None, None]
    return {"option1": padded[0], "option2": padded[1], "option3": padded[2]}


def add_product(session: Session, actor: Actor, shop_id: int, data: ProductCreate) -> Product:
    """Building block (the caller's transaction): create a product in the actor's shop."""
    try:
        created = add_products(session, actor, shop_id, [data])[0]
    except ProductRefused as refused:
        raise refused.error from None
    product = session.get(Product, created.id)
    assert product is not None
    return product


def create_product(db: Database, actor: Actor, shop_id: int, data: ProductCreate,
                   market: Market) -> ProductView:
    check_product(data)  # bad input is refused before the transaction starts
    with db.transaction() as session:
        product = add_product(session, actor, shop_id, data)
        shop = session.get(Shop, product.shop_id)
        assert shop is not None
        return _product_view(session, product, shop, market, owner=True)


def get_product(db: Database, actor: Actor | None, product_id: int,
                market: Market) -> ProductView:
    with db.read() as session:
        product = session.get(Product, product_id)
        if product is None:
            raise NotFound("No such product", field="product_id")
        shop = session.get(Shop, product.shop_id)
        assert shop is not None
        if _is_owner(actor, shop):
            return _product_view(session, product, shop, market, owner=True)
        sold_in = _sold_in(product, shop)
        if not sold_in:
            raise NotFound("No such product", field="product_id")
        if market.code not in sold_in:
            raise NotInMarket(f"This product is not sold in {market.name}",
                              markets=sold_in)
        return _product_view(session, product, shop, market, owner=False)


def product_of_variant(db: Database, variant_id: int) -> int | None:
    """The id of the product a variant belongs to, if the variant exists."""
    with db.read() as session:
        return session.scalar(select(Variant.product_id).where(Variant.id == variant_id))


def get_owned_product(db: Database, actor: Actor, product_id: int,
                      market: Market) -> ProductView:
    with db.read() as session:
        product = owned_product(session, actor, product_id)
        shop = session.get(Shop, product.shop_id)
        assert shop is not None
        return _product_view(session, product, shop, market, owner=True)


def change_product(session: Session, actor: Actor, product_id: int,
                   data: ProductUpdate) -> Product:
    """Building block (the caller's transaction): change the fields ``data`` gives."""
    product = owned_product(session, actor, product_id)
    if data.title is not None:
        product.title = model.check_text(data.title, "title")
    if data.description is not None:
        product.description = data.description.strip()
    if data.tags is not None:
        product.tags = model.join_tags(model.normalise_tags(data.tags))
    if data.status is not None:
        product.status = data.status.value
    session.flush()
    return product


def update_product(db: Database, actor: Actor, product_id: int, data: ProductUpdate,
                   market: Market) -> ProductView:
    with db.transaction() as session:
        product = change_product(session, actor, product_id, data)
        shop = session.get(Shop, product.shop_id)
        assert shop is not None
        return _product_view(session, product, shop, market, owner=True)


def unpublish_product(session: Session, product_id: int) -> tuple[Product, str]:
    """Take a product off sale inside the caller's transaction (an admin upholding a
    report): it goes back to draft, which its seller sees on their product list. The
    product and the status it had."""
    product = session.get(Product, product_id, with_for_update=True)
    if product is None:
        raise NotFound("No such product", field="product_id")
    before = product.status
    product.status = model.ProductStatus.DRAFT.value
    return product, before


def _remove_variant(session: Session, product: Product, variant: Variant) -> None:
    """Delete a variant nothing else refers to (409 variant_in_use otherwise).

    Stock movements, reservations, holds, flash sales and order lines refer to variants
    without cascading, and most of their packages sit above the catalog (which does not
    import them): the database's foreign keys refuse to orphan them, and that refusal is
    the answer. Prices, cart lines and the stock counter row go with the variant."""
    sku = variant.sku  # a failed flush leaves the session unable to load it
    product.variants.remove(variant)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            f"SKU {sku!r} has stock or order history and cannot be removed; keep it "
            "(stock 0) or archive the product", field="variants", code="variant_in_use"
        ) from None


def variants_of(product: Product) -> list[VariantIn]:
    """A product's variants as the input that would set them as they are (to keep some
    while replacing others)."""
    count = len(_option_names(product))
    return [
        VariantIn(sku=variant.sku, options=_option_values(variant, count),
                  weight_grams=variant.weight_grams,
                  prices={price.market: PriceIn(amount=price.amount_minor,
                                                compare_at=price.compare_at_minor)
                          for price in variant.prices})
        for variant in product.variants
    ]


def set_variants(session: Session, actor: Actor, product_id: int,
                 data: VariantsReplace) -> Product:
    """Building block (the caller's transaction): replace the variant set. A variant whose
    SKU stays keeps its id, so its stock, carts and orders still point at it."""
    product = owned_product(session, actor, product_id)
    names = (model.check_option_names(data.options) if data.options is not None
             else _option_names(product))
    rules = model.check_variants(names, _variant_inputs(data.variants))
    _check_skus_free(session, product.shop_id, product.id, rules)
    existing = {variant.sku.lower(): variant for variant in product.variants}
    keep = {rule.sku.lower() for rule in rules}
    # Removed rows go first so a re-added SKU or reordering never trips a constraint.
    for sku, variant in existing.items():
        if sku not in keep:
            _remove_variant(session, product, variant)
    _set_option_names(product, names)
    for position, rule in enumerate(rules):
        variant = existing.get(rule.sku.lower()) or Variant(
            product_id=product.id, shop_id=product.shop_id, prices=[])
        _apply_variant(variant, rule, position)
        if variant.id is None:
            product.variants.append(variant)
    _flush_variants(session)
    product.variants.sort(key=lambda v: v.position)
    for variant in product.variants:
        inventory.ensure_level(session, variant.id)
    return product


def replace_variants(db: Database, actor: Actor, product_id: int, data: VariantsReplace,
                     market: Market) -> ProductView:
    """Replace the variant set (``set_variants``) in a transaction of its own."""
    with db.transaction() as session:
        product = set_variants(session, actor, product_id, data)
        shop = session.get(Shop, product.shop_id)
        assert shop is not None
        return _product_view(session, product, shop, market, owner=True)


# --- images ---

def add_image(db: Database, settings: Settings, actor: Actor, product_id: int, data: bytes,
              alt: str = "") -> ImageView:
    with db.transaction() as session:
        product = owned_product(session, actor, product_id)
        if len(product.images) >= MAX_IMAGES:
            # The product's state, not the upload, is at fault: a 409, as for a taken SKU.
            raise Conflict(f"A product has at most {MAX_IMAGES} images; delete one first",
                           field="file", code="too_many_images")
        # The page passes the form's text straight here; the API's schema has cleaned it.
        alt = clean_line(alt, field="alt")
        if len(alt) > 200:
            raise InvalidInput("Alt text has at most 200 characters", field="alt")
        clean = media.clean_image(data, settings.max_upload_bytes)
        relative = media.store(settings.media_dir, f"products/{product.id}", clean)
        try:
            image = ProductImage(
                path=relative, content_type=clean.content_type, width=clean.width,
                height=clean.height, alt=alt,
                position=max((i.position for i in product.images), default=-1) + 1,
            )
            product.images.append(image)
            session.flush()
            return _image_view(image)
        except BaseException:
            media.remove(settings.media_dir, relative)
            raise


def delete_image(db: Database, settings: Settings, actor: Actor, product_id: int,
                 image_id: int) -> None:
    with db.transaction() as session:
        product = owned_product(session, actor, product_id)
        image = next((i for i in product.images if i.id == image_id), None)
        if image is None:
            raise NotFound("No such image on this product", field="image_id")
        product.images.remove(image)
        session.flush()
        relative = image.path
    # Only after the commit: a rolled-back delete must not lose the file.
    media.remove(settings.media_dir, relative)


# --- listings ---

# What a listing query selects: cards are built from these columns, never from loaded
# products (whose variants and prices in every market a card does not need).
CARD_COLUMNS = (Product.id, Product.title, Product.status, Product.shop_id, Shop.name)
CardRow = Row[int, str, str, int, str]


@dataclass(frozen=True)
class Offer:
    """One variant's price in the market, with its stock."""

    amount: int
    compare_at: int | None
    available: int


def first_images(session: Session, product_ids: Collection[int]) -> dict[int, ProductImage]:
    """Each product's first picture (the one listings show), in one query."""
    first: dict[int, ProductImage] = {}
    for image in session.scalars(
            select(ProductImage).where(ProductImage.product_id.in_(product_ids))
            .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)):
        first.setdefault(image.product_id, image)
    return first


def variant_pictures(session: Session, variant_ids: Collection[int]) -> dict[int, str]:
    """The picture to show beside each variant (its product's first), as a URL, in two
    queries however many variants (an order's lines, a list of orders)."""
    products = dict(session.execute(select(Variant.id, Variant.product_id).where(
        Variant.id.in_(set(variant_ids)))).all())
    images = first_images(session, set(products.values()))
    return {variant_id: media.url_of(images[product_id].path)
            for variant_id, product_id in products.items() if product_id in images}


def _offers(session: Session, product_ids: Collection[int],
            market: Market) -> dict[int, list[Offer]]:
    """Priced variants per product, in variant order, in one query."""
    offers: dict[int, list[Offer]] = {}
    for product_id, amount, compare_at, available in session.execute(
            select(Variant.product_id, VariantPrice.amount_minor,
                   VariantPrice.compare_at_minor, StockLevel.available)
            .join(VariantPrice, (VariantPrice.variant_id == Variant.id)
                  & (VariantPrice.market == market.code))
            .outerjoin(StockLevel, StockLevel.variant_id == Variant.id)
            .where(Variant.product_id.in_(product_ids))
            .order_by(Variant.product_id, Variant.position, Variant.id)):
        offers.setdefault(product_id, []).append(Offer(amount, compare_at, available or 0))
    return offers


def _card(row: CardRow, market: Market, offers: list[Offer],
          image: ProductImage | None) -> ProductCard:
    product_id, title, status, shop_id, shop_name = row
    lowest = min(offers, key=lambda offer: offer.amount) if offers else None
    return ProductCard(
        id=product_id, title=title, status=model.ProductStatus(status),
        shop_id=shop_id, shop_name=shop_name, market=market.code,
        currency=market.currency if lowest else None,
        price=lowest.amount if lowest else None,
        compare_at=lowest.compare_at if lowest else None,
        price_formatted=market.format(lowest.amount) if lowest else None,
        compare_at_formatted=(market.format(lowest.compare_at)
                              if lowest and lowest.compare_at is not None else None),
        price_varies=len({offer.amount for offer in offers}) > 1,
        tax_note=model.tax_note(market),
        image_url=media.url_of(image.path) if image else None,
        image_alt=(image.alt or title) if image else "",
        in_stock=any(offer.available > 0 for offer in offers),
    )


def _cards(session: Session, rows: Sequence[CardRow], market: Market) -> list[ProductCard]:
    """Cards for listing rows in two more queries, however many rows (no query per card)."""
    ids = [row[0] for row in rows]
    offers = _offers(session, ids, market)
    images = first_images(session, ids)
    return [_card(row, market, offers.get(row[0], []), images.get(row[0])) for row in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _visible_in(market: Market) -> Select[int, str, str, int, str]:
    priced = (
        select(VariantPrice.variant_id)
        .join(Variant, Variant.id == VariantPrice.variant_id)
        .where(Variant.product_id == Product.id, VariantPrice.market == market.code)
        .exists()
    )
    ships = exists().where(ShopMarket.shop_id == Product.shop_id,
                           ShopMarket.market == market.code)
    return (
        select(*CARD_COLUMNS).join(Shop, Shop.id == Product.shop_id)
        .where(Product.status == model.ProductStatus.ACTIVE.value, Shop.suspended_at.is_(None),
               priced, ships)
    )


def cards_in_market(session: Session, product_ids: Collection[int],
                    market: Market) -> dict[int, ProductCard]:
    """Cards of those of the products that buyers can order in the market (active, priced
    there, shipped there, shop not suspended), by id; the rest are left out. In the
    caller's transaction, three queries however many ids (the feed's cards)."""
    if not product_ids:
        return {}
    rows = session.execute(_visible_in(market).where(Product.id.in_(set(product_ids)))).all()
    return {card.id: card for card in _cards(session, rows, market)}


def browse(db: Database, market: Market, q: str = "", tag: str = "", page: int = 1,
           per_page: int = 24) -> ProductPage:
    """Active products buyers can order in the market, newest first."""
    page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
    query = _visible_in(market)
    words = " ".join(q.split()).lower()
    if words:
        pattern = f"%{_escape_like(words)}%"
        query = query.where(or_(func.lower(Product.title).like(pattern, escape="\\"),
                                Product.tags.like(pattern, escape="\\")))
    wanted_tag = model.clean_tag(tag)
    if wanted_tag:
        query = query.where(
            Product.tags.like(f"%,{_escape_like(wanted_tag)},%", escape="\\"))
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(Product.created_at.desc(), Product.id.desc())
            .limit(per_page).offset((page - 1) * per_page)
        ).all()
        return ProductPage(items=_cards(session, rows, market), total=total, page=page,
                           per_page=per_page, market=market.code)


def cards_on_sale(session: Session, product_ids: Sequence[int], market: Market
                  ) -> list[ProductCard]:
    """Cards of those of the products on sale in the market, in the order given (a
    creator's showcase, newest first)."""
    rows = {row[0]: row for row in session.execute(
        _visible_in(market).where(Product.id.in_(product_ids))).all()}
    return _cards(session, [rows[product_id] for product_id in product_ids
                            if product_id in rows], market)


def shop_products(db: Database, actor: Actor | None, shop_id: int,
                  market: Market) -> list[ProductCard]:
    """The owner sees every product in every state; others what is on sale in the market."""
    with db.read() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise NotFound("No such shop", field="shop_id")
        if _is_owner(actor, shop):
            query = select(*CARD_COLUMNS).join(Shop, Shop.id == Product.shop_id)
        else:
            query = _visible_in(market)
        rows = session.execute(
            query.where(Product.shop_id == shop_id).order_by(Product.id.desc())
        ).all()
        return _cards(session, rows, market)
