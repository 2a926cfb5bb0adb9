"""Revision 0018 (a connected Shopify store) upgrades a database with CSV imports in it:
every link stays, with no Shopify ids (a CSV names none), the new tables start empty, and it
downgrades back."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from liveshop.core import migrate
from liveshop.core.db import make_engine
from tests.core.test_migrations import empty_database_url, insert_rows  # noqa: F401

NOW = datetime.now(UTC).replace(tzinfo=None)
ROWS: list[tuple[str, dict[str, object]]] = [
    ("users", {"id": 1, "email": "s@x.test", "display_name": "S", "password_hash": "-",
               "role": "seller", "is_active": True, "created_at": NOW}),
    ("shops", {"id": 1, "owner_id": 1, "name": "S", "slug": "s", "description": "",
               "created_at": NOW}),
    ("products", {"id": 1, "shop_id": 1, "title": "Tote", "description": "", "tags": "",
                  "status": "active", "created_at": NOW, "updated_at": NOW}),
    ("variants", {"id": 1, "product_id": 1, "shop_id": 1, "sku": "TOTE-1", "weight_grams": 0,
                  "position": 0}),
    ("shopify_product_links", {"id": 1, "shop_id": 1, "handle": "tote", "product_id": 1,
                               "digest": "0" * 64, "imported": "{}", "imported_at": NOW}),
    ("shopify_variant_links", {"id": 1, "product_link_id": 1, "variant_id": 1,
                               "sku": "tote-1", "options_key": "", "barcode": ""}),
]
NEW_TABLES = {"shopify_connections", "shopify_webhooks", "shopify_order_pushes"}


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0
                for table, _ in ROWS}


def test_0018_keeps_the_import_links_without_shopify_ids(empty_database_url: str  # noqa: F811
                                                         ) -> None:
    config = migrate.alembic_config(empty_database_url)
    previous = ScriptDirectory.from_config(config).get_revision("0018").down_revision
    assert isinstance(previous, str)
    command.upgrade(config, previous)
    engine = make_engine(empty_database_url)
    try:
        insert_rows(engine, ROWS)
        before = _counts(engine)
        command.upgrade(config, "0018")
        assert set(sa.inspect(engine).get_table_names()) >= NEW_TABLES
        assert _counts(engine) == before
        with engine.connect() as connection:
            assert connection.execute(sa.text(
                "SELECT shopify_id, inventory_item_id, shopify_available, stock_updated_at "
                "FROM shopify_variant_links")).one() == (None, None, None, None)
            assert connection.execute(sa.text(
                "SELECT handle, shopify_id FROM shopify_product_links")).one() == ("tote", None)
        command.downgrade(config, previous)
        assert not NEW_TABLES & set(sa.inspect(engine).get_table_names())
        assert _counts(engine) == before
    finally:
        engine.dispose()
