"""Revision 0016 (incentives) upgrades a database in use: checkouts, orders and their lines
stay, each with a discount of 0 (no voucher existed), the new tables come empty (5% fees,
no holiday), and it downgrades back."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from liveshop.core import migrate
from liveshop.core.db import make_engine
from tests.core.test_migrations import empty_database_url, insert_rows  # noqa: F401
from tests.creators.test_migration import ROWS

REVISION = "0016"
NEW_TABLES = {"market_fees", "fee_holiday_policy", "fee_holiday_gmv", "bonus_campaigns",
              "bonus_grants", "vouchers", "voucher_redemptions"}


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0
                for table, _ in ROWS}


def test_0016_keeps_every_order_with_no_discount(empty_database_url: str  # noqa: F811
                                                 ) -> None:
    config = migrate.alembic_config(empty_database_url)
    previous = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    assert isinstance(previous, str)
    command.upgrade(config, previous)
    engine = make_engine(empty_database_url)
    try:
        insert_rows(engine, ROWS)
        before = _counts(engine)
        command.upgrade(config, REVISION)
        assert set(sa.inspect(engine).get_table_names()) >= NEW_TABLES
        assert _counts(engine) == before
        with engine.connect() as connection:
            for table in ("checkouts", "orders", "order_lines"):
                assert connection.scalar(sa.text(f"SELECT discount FROM {table}")) == 0
            assert connection.scalar(sa.text("SELECT total FROM orders")) == 2400

        command.downgrade(config, previous)
        assert not NEW_TABLES & set(sa.inspect(engine).get_table_names())
        assert _counts(engine) == before
    finally:
        engine.dispose()
