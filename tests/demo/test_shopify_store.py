"""The demo's connected Shopify store: the fake store holds Harbour & Pine's export, the
demo connects the shop to it and pulls, which matches the products the CSV import made
(one mapping, by handle and SKU) instead of making new ones; a second start changes
nothing."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from liveshop.catalog.orm import Product, Shop
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.demo.seed import SHOPIFY_SHOP_SLUG, seed_demo
from liveshop.demo.shopify_store import connect_and_pull, stocked_store
from liveshop.integrations.shopify.fake import DEFAULT_SECRET
from liveshop.integrations.shopify.orm import ShopifyConnection, ShopifyVariantLink


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_shop_is_connected_to_the_fake_store(db: Database, settings: Settings) -> None:
    seed_demo(db, settings)
    settings = settings.model_copy(update={"shopify_allow_http": True,
                                           "shopify_app_secret": SecretStr(DEFAULT_SECRET)})
    with db.read() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.slug == SHOPIFY_SHOP_SLUG)).one()
        products = session.scalar(select(func.count()).select_from(Product).where(
            Product.shop_id == shop_id))
    fake = stocked_store()
    fake.start()
    try:
        for _start in range(2):
            connect_and_pull(db, settings, fake)
    finally:
        fake.stop()
    with db.read() as session:
        connection = session.scalars(select(ShopifyConnection)).one()
        assert (connection.shop_id, connection.status) == (shop_id, "active")
        assert connection.last_sync_report["created"] == 0, connection.last_sync_report
        assert session.scalar(select(func.count()).select_from(Product).where(
            Product.shop_id == shop_id)) == products
        linked = session.scalar(select(func.count()).select_from(ShopifyVariantLink).where(
            ShopifyVariantLink.inventory_item_id.is_not(None)))
        assert products and linked and linked >= products
