"""Demo data: people with known passwords, five shops in six markets, forty products, a
sixth shop imported from a Shopify product export, and the feed's simulated shoppers
(liveshop/demo/feed.py).

Idempotent: the whole catalogue is written in one transaction, and a database that already
has the demo admin is left as it is (only product pictures missing from the media directory
are drawn again), so ``liveshop demo`` can run on every start.
"""

from __future__ import annotations

import itertools
import random
import re
import zlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

# Every table must be mapped before the first flush (stock movements point at orders), and
# the CLI imports nothing else that would pull them in.
import liveshop.schema  # noqa: F401
from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import Address, User
from liveshop.accounts.security import hash_password
from liveshop.catalog.orm import Product, ProductImage, Shop, ShopMarket, Variant, VariantPrice
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.demo import back_office, images, incentives, journeys, payouts, storefront
from liveshop.demo.catalog import DEMO_PASSWORD, PEOPLE, SHOPS, ProductSpec, ShopSpec
from liveshop.demo.feed import seed_feed
from liveshop.integrations.shopify import files as shopify_files
from liveshop.inventory import service as inventory
from liveshop.markets.model import MARKETS, derive_price

# Harbour & Pine's catalogue is a Shopify product export, imported at every start.
SHOPIFY_CSV = Path(__file__).parent / "shopify_products.csv"
SHOPIFY_SHOP_SLUG = "harbour-and-pine"
SHOPIFY_SHOP_OWNER = "maya@example.com"


def seed_demo(db: Database, settings: Settings) -> list[str]:
    """Create the demo data once; return the lines that tell a newcomer how to log in."""
    with db.transaction() as session:
        seeded = session.scalar(select(User.id).where(User.email == PEOPLE[0].email))
        if seeded is None:
            user_ids = _create_people(session)
            shops = [_create_shop(session, user_ids[spec.owner], spec) for spec in SHOPS]
            # Round-robin across shops, so "newest first" listings mix the shops.
            for number in range(max(len(spec.products) for spec in SHOPS)):
                for shop, spec in zip(shops, SHOPS, strict=True):
                    if number < len(spec.products):
                        _create_product(session, settings.media_dir, shop,
                                        f"{spec.sku_prefix}-{number + 1:02d}",
                                        spec.products[number])
    if seeded is not None:
        _redraw_missing_images(db, settings.media_dir)
    journeys.seed_journeys(db, settings)
    storefront.seed_creator_storefront(db, settings)
    back_office.seed_back_office(db)
    payouts.seed_payouts(db, settings)
    _import_from_shopify(db, settings.media_dir)
    incentives.seed_incentives(db, settings)
    seed_feed(db)  # after every shop: the simulated shoppers buy from all of them
    return login_lines()


def _import_from_shopify(db: Database, media_dir: Path) -> None:
    """A shop brought in from Shopify: its products come from a product export CSV through
    the importer (liveshop/integrations/shopify), as a seller's upload would, once, when the
    shop is new. The importer records ``Image Src`` URLs to fetch later; the demo draws a
    picture for each product meanwhile, as it does for the other shops."""
    with db.transaction() as session:
        if session.scalars(select(Shop.id).where(Shop.slug == SHOPIFY_SHOP_SLUG)).first():
            return
        owner = session.scalars(select(User).where(User.email == SHOPIFY_SHOP_OWNER)).one()
        shop = Shop(owner_id=owner.id, name="Harbour & Pine", slug=SHOPIFY_SHOP_SLUG,
                    description="Coastal goods from Portland, Maine, brought over from its "
                    "Shopify store with the product CSV import.",
                    markets=[ShopMarket(market="US", shipping_minor=600),
                             ShopMarket(market="UK", shipping_minor=900)])
        session.add(shop)
        session.flush()
        shop_id, actor = shop.id, Actor(owner.id, Role.SELLER)
    with SHOPIFY_CSV.open("rb") as stream:
        shopify_files.import_file(db, actor, shop_id, stream, "US", SHOPIFY_CSV.name)
    with db.transaction() as session:
        for product in session.scalars(select(Product).where(Product.shop_id == shop_id)):
            relative = _image_path(product.id, product.title)
            width, height = images.write(media_dir / relative, product.title,
                                         _image_seed(product.title))
            session.add(ProductImage(product_id=product.id, path=relative,
                                     content_type=images.CONTENT_TYPE, width=width,
                                     height=height, position=0, alt=product.title))


def login_lines() -> list[str]:
    shops = {spec.owner: f" ({spec.name}, {spec.city})" for spec in SHOPS}
    lines = ["Demo logins (email / password / role):"]
    for person in PEOPLE:
        lines.append(f"  {person.email:<20} / {DEMO_PASSWORD} / {person.role}"
                     f"{shops.get(person.email, '')}")
    lines.append(f"Voucher code for buyers (UK): {incentives.VOUCHER_CODE}, £5 off £25 "
                 "(LIVE5DE in Germany); fees and incentives: /admin/incentives")
    return lines


def _create_people(session: Session) -> dict[str, int]:
    # The demo password is public anyway; hashing it once keeps the seed fast.
    password_hash = hash_password(DEMO_PASSWORD)
    ids: dict[str, int] = {}
    for person in PEOPLE:
        user = User(email=person.email, display_name=person.name, role=person.role,
                    password_hash=password_hash)
        session.add(user)
        session.flush()
        ids[person.email] = user.id
        if person.address is not None:
            line1, city, postcode, country = person.address
            session.add(Address(user_id=user.id, full_name=person.name, line1=line1, city=city,
                                postcode=postcode, country=country, is_default=True))
    return ids


def _create_shop(session: Session, owner_id: int, spec: ShopSpec) -> Shop:
    shop = Shop(owner_id=owner_id, name=spec.name, slug=spec.slug,
                description=f"{spec.description} Based in {spec.city}.")
    shop.markets = [ShopMarket(market=market, shipping_minor=amount)
                    for market, amount in spec.shipping.items()]
    session.add(shop)
    session.flush()
    return shop


def _create_product(session: Session, media_dir: Path, shop: Shop, sku_stem: str,
                    spec: ProductSpec) -> None:
    names = list(spec.options)
    product = Product(
        shop_id=shop.id, title=spec.title, description=spec.description, status="active",
        tags="," + ",".join(spec.tags) + ",",
        option1_name=names[0] if names else None,
        option2_name=names[1] if len(names) > 1 else None,
        option3_name=names[2] if len(names) > 2 else None,
    )
    session.add(product)
    session.flush()

    rng = random.Random(sku_stem)
    first_values = spec.options[names[0]] if names else ()
    combinations = itertools.product(*spec.options.values())
    for position, values in enumerate(combinations):
        amount_step = spec.step * first_values.index(values[0]) if values else 0
        padded = (*values, None, None, None)
        variant = Variant(product_id=product.id, shop_id=shop.id, position=position,
                          sku=f"{sku_stem}-{position + 1:02d}", option1=padded[0],
                          option2=padded[1], option3=padded[2],
                          weight_grams=rng.randint(2, 12) * 50)
        variant.prices = [_price(spec, shop_market.market, amount_step)
                          for shop_market in shop.markets]
        session.add(variant)
        session.flush()
        inventory.ensure_level(session, variant.id)
        # Now and then a variant is sold out, so the shop pages show that state too, or
        # runs low, so the seller home has something to restock.
        roll = rng.random()
        quantity = 0 if roll < 0.07 else rng.randint(1, 3) if roll < 0.14 else rng.randint(4, 40)
        if quantity:
            inventory.receive(session, variant.id, quantity, note="demo opening stock")

    relative = _image_path(product.id, spec.title)
    width, height = images.write(media_dir / relative, spec.title, _image_seed(spec.title))
    session.add(ProductImage(product_id=product.id, path=relative,
                             content_type=images.CONTENT_TYPE, width=width, height=height,
                             position=0, alt=spec.title))


def _price(spec: ProductSpec, market: str, amount_step: int) -> VariantPrice:
    currency = MARKETS[market].currency
    if currency in spec.prices:
        amount = spec.prices[currency] + amount_step
    else:
        # A market the spec prices nothing in: the markets' derived-price rule, from the
        # spec's first price (as a seller's product form works it out).
        source_currency, base = next(iter(spec.prices.items()))
        source = next(m for m in MARKETS.values() if m.currency == source_currency)
        amount = derive_price(base + amount_step, source, MARKETS[market])
    compare_at = None
    if spec.sale_percent:
        # Round the "was" price up to the next whole unit, then make it a .99 price too.
        raised = amount * (100 + spec.sale_percent) // 100
        compare_at = (raised // 100 + 1) * 100 - 1
    return VariantPrice(market=market, currency=currency, amount_minor=amount,
                        compare_at_minor=compare_at)


def _image_path(product_id: int, title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"products/{product_id}/{slug}.webp"


def _image_seed(title: str) -> int:
    return zlib.crc32(title.encode())


def _redraw_missing_images(db: Database, media_dir: Path) -> None:
    """A fresh media directory next to an already seeded database gets its pictures back."""
    slugs = [spec.slug for spec in SHOPS] + [SHOPIFY_SHOP_SLUG]
    with db.read() as session:
        rows = session.execute(
            select(ProductImage.path, Product.title)
            .join(Product, Product.id == ProductImage.product_id)
            .join(Shop, Shop.id == Product.shop_id)
            .where(Shop.slug.in_(slugs))
        ).all()
    for path, title in rows:
        if not (media_dir / path).exists():
            images.write(media_dir / path, title, _image_seed(title))
