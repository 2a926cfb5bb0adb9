"""The demo's connected Shopify store: the fake Shopify (liveshop/integrations/shopify/fake.py)
runs in the demo's process with Harbour & Pine's products (read from the same export CSV the
demo imports), and the shop is connected to it and pulled at every start. The fake's own
admin page (stock counts, fulfilments) is at http://127.0.0.1:8765/ (or the port logged):
changing stock there changes it here, an order bought here appears there, and fulfilling it
there ships it here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

from sqlalchemy import select

from liveshop.accounts.model import Actor, Role
from liveshop.catalog.orm import Shop
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.demo.seed import SHOPIFY_CSV, SHOPIFY_SHOP_SLUG
from liveshop.integrations.shopify.fake import FakeShopify
from liveshop.integrations.shopify.model import read_products
from liveshop.integrations.shopify.sync import ShopifySync
from liveshop.markets.model import MARKETS
from liveshop.services import Services

log = logging.getLogger("liveshop.demo.shopify")
FAKE_PORT = 8765
STORE_MARKET = "US"


def stocked_store() -> FakeShopify:
    """The fake store with the products of the demo's Shopify export."""
    fake = FakeShopify(currency=MARKETS[STORE_MARKET].currency)
    digits = Decimal(10) ** -2
    with SHOPIFY_CSV.open(encoding="utf-8-sig", newline="") as text:
        for draft in read_products(text, STORE_MARKET):
            if draft.has_errors:
                continue
            fake.add_product(draft.handle, draft.title, option_names=draft.option_names or
                             ["Title"], tags=draft.tags, variants=[{
                                 "sku": variant.sku, "options": list(variant.options) or None,
                                 "price": str((Decimal(variant.prices[STORE_MARKET][0])
                                               * digits).quantize(digits)),
                                 "available": variant.quantity or 0, "grams": variant.grams}
                                 for variant in draft.variants])
    return fake


def connect_and_pull(db: Database, settings: Settings, fake: FakeShopify) -> None:
    with db.read() as session:
        shop = session.scalars(select(Shop).where(Shop.slug == SHOPIFY_SHOP_SLUG)).first()
        if shop is None:
            return
        shop_id, owner = shop.id, Actor(shop.owner_id, Role.SELLER)
    sync = ShopifySync(db, settings)
    sync.connect(owner, shop_id, fake.domain, fake.token, STORE_MARKET)
    sync.pull(owner, shop_id)


@contextlib.asynccontextmanager
async def connected_store(services: Services) -> AsyncIterator[None]:
    """A demo plug-in (liveshop/app.py ``plug_ins``): the fake store serves beside the app,
    its webhooks posted to the app's public URL."""
    fake = stocked_store()
    try:
        fake.start(FAKE_PORT)
    except OSError:  # the port is taken (another demo): any free one
        fake.start()
    fake.webhook_url = f"{services.settings.public_url}/integrations/shopify/webhooks"
    try:
        await asyncio.to_thread(connect_and_pull, services.db, services.settings, fake)
        log.warning("demo Shopify store: %s (Harbour & Pine is connected to it)", fake.url)
    except Exception:
        log.exception("connecting the demo Shopify store failed")
    try:
        yield
    finally:
        fake.stop()
