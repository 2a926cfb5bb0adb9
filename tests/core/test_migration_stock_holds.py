"""Revision 0005 (stock holds) upgrades a database in use without losing a row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from liveshop.core import migrate
from liveshop.core.db import make_engine
from tests.core.test_migrations import empty_database_url, insert_rows  # noqa: F401

NOW = datetime.now(UTC).replace(tzinfo=None)
ROWS: list[tuple[str, dict[str, object]]] = [
    ("users", {"id": 1, "email": "s@x.test", "display_name": "S", "password_hash": "-",
               "role": "seller", "is_active": True, "created_at": NOW}),
    ("shops", {"id": 1, "owner_id": 1, "name": "S", "slug": "s", "description": "",
               "created_at": NOW}),
    ("products", {"id": 1, "shop_id": 1, "title": "T", "description": "", "tags": ",",
                  "status": "active", "created_at": NOW, "updated_at": NOW}),
    ("variants", {"id": 1, "product_id": 1, "shop_id": 1, "sku": "T-1", "weight_grams": 0,
                  "position": 0}),
    ("stock_levels", {"variant_id": 1, "available": 7, "reserved": 1, "sold": 2,
                      "version": 3}),
    ("reservations", {"id": 1, "variant_id": 1, "quantity": 1, "status": "active",
                      "expires_at": NOW + timedelta(minutes=10), "created_at": NOW}),
    ("stock_movements", {"id": 1, "variant_id": 1, "kind": "reserved", "quantity": 1,
                         "reservation_id": 1, "note": "", "created_at": NOW}),
    ("shows", {"id": 1, "shop_id": 1, "host_id": 1, "title": "Live", "description": "",
               "markets": ",UK,", "status": "live", "scheduled_at": NOW,
               "slow_mode_seconds": 0, "created_at": NOW}),
    ("flash_sales", {"id": 1, "show_id": 1, "variant_id": 1, "prices": '{"UK": 900}',
                     "quantity": 5, "remaining": 3, "version": 2, "per_buyer_limit": 1,
                     "starts_at": NOW, "ends_at": NOW + timedelta(minutes=5),
                     "status": "active"}),
    ("flash_sale_claims", {"id": 1, "sale_id": 1, "buyer_id": 1, "quantity": 1}),
    ("sale_purchases", {"id": 1, "sale_id": 1, "show_id": 1, "variant_id": 1, "buyer_id": 1,
                        "idempotency_key": "k", "quantity": 1, "market": "UK",
                        "unit_price": 900, "status": "pending", "attempts": 0,
                        "created_at": NOW}),
]


def test_0005_keeps_every_row_and_leaves_a_running_sale_without_a_hold(
        empty_database_url: str) -> None:  # noqa: F811
    config = migrate.alembic_config(empty_database_url)
    command.upgrade(config, "0002")
    engine = make_engine(empty_database_url)
    try:
        insert_rows(engine, ROWS)
        command.upgrade(config, "0005")
        with engine.connect() as connection:
            for table, _ in ROWS:
                assert connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 1, table
            assert connection.execute(sa.text(
                "SELECT available, reserved, held, sold FROM stock_levels")).one() == (7, 1, 0, 2)
            assert connection.scalar(sa.text("SELECT hold_id FROM flash_sales")) is None
            assert connection.scalar(sa.text("SELECT hold_id FROM reservations")) is None
    finally:
        engine.dispose()
