"""Revision 0013 (affiliate plans, the terms a line was paid under) upgrades a database in
use: every order line stays, with no creator, no rate and no fee (nothing was posted for it,
so a refund of it posts nothing), and it downgrades back."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from liveshop.core import migrate
from liveshop.core.db import make_engine
from tests.core.test_migrations import empty_database_url, insert_rows  # noqa: F401

NOW = datetime.now(UTC).replace(tzinfo=None)
SHIP_TO = '{"country": "GB"}'
ROWS: list[tuple[str, dict[str, object]]] = [
    ("users", {"id": 1, "email": "s@x.test", "display_name": "S", "password_hash": "-",
               "role": "seller", "is_active": True, "created_at": NOW}),
    ("users", {"id": 2, "email": "c@x.test", "display_name": "C", "password_hash": "-",
               "role": "creator", "is_active": True, "created_at": NOW}),
    ("shops", {"id": 1, "owner_id": 1, "name": "S", "slug": "s", "description": "",
               "created_at": NOW}),
    ("products", {"id": 1, "shop_id": 1, "title": "Scarf", "description": "", "tags": "",
                  "status": "active", "created_at": NOW, "updated_at": NOW}),
    ("variants", {"id": 1, "product_id": 1, "shop_id": 1, "sku": "SC-1", "weight_grams": 100,
                  "position": 0}),
    ("checkouts", {"id": 1, "buyer_id": 1, "market": "UK", "currency": "GBP",
                   "status": "paid", "source": "buy_now", "subtotal": 2400, "shipping": 0,
                   "tax": 400, "total": 2400, "ship_to": SHIP_TO, "created_at": NOW}),
    ("orders", {"id": 1, "number": "LS-OLD1", "checkout_id": 1, "buyer_id": 1, "shop_id": 1,
                "market": "UK", "currency": "GBP", "status": "paid", "tax_inclusive": True,
                "subtotal": 2400, "shipping": 0, "tax": 400, "total": 2400,
                "refunded_amount": 0, "ship_to": SHIP_TO, "created_at": NOW,
                "creator_id": 2}),
    ("order_lines", {"id": 1, "order_id": 1, "variant_id": 1, "product_title": "Scarf",
                     "variant_title": "", "sku": "SC-1", "quantity": 1, "unit_price": 2400,
                     "line_total": 2400, "tax": 400, "refunded_quantity": 0}),
]
TERMS = "SELECT creator_id, commission_bp, bonus_bp, fee_bp, line_total FROM order_lines"


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0
                for table, _ in ROWS}


def test_0013_keeps_every_order_line_without_terms(empty_database_url: str  # noqa: F811
                                                   ) -> None:
    config = migrate.alembic_config(empty_database_url)
    # Whatever 0013 follows.
    previous = ScriptDirectory.from_config(config).get_revision("0013").down_revision
    assert isinstance(previous, str)
    command.upgrade(config, previous)
    engine = make_engine(empty_database_url)
    try:
        insert_rows(engine, ROWS)
        before = _counts(engine)
        command.upgrade(config, "0013")
        assert "affiliate_plans" in sa.inspect(engine).get_table_names()
        assert _counts(engine) == before
        with engine.connect() as connection:
            assert connection.execute(sa.text(TERMS)).one() == (None, 0, 0, None, 2400)

        command.downgrade(config, previous)
        assert "affiliate_plans" not in sa.inspect(engine).get_table_names()
        assert _counts(engine) == before
    finally:
        engine.dispose()
