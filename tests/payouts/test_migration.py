"""Revision 0014 (payout statements) upgrades a database with books in use without losing
a row; the downgrade drops only its own tables."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from liveshop.core import migrate
from liveshop.core.db import Database, make_engine
from liveshop.orders.payouts import run_payouts
from liveshop.payouts.model import PayoutPolicy
from tests.core.test_migrations import empty_database_url, insert_rows  # noqa: F401

NOW = datetime.now(UTC).replace(tzinfo=None)
ROWS: list[tuple[str, dict[str, object]]] = [
    ("users", {"id": 1, "email": "s@x.test", "display_name": "S", "password_hash": "-",
               "role": "seller", "is_active": True, "created_at": NOW}),
    ("shops", {"id": 1, "owner_id": 1, "name": "S", "slug": "s", "description": "",
               "created_at": NOW}),
    ("ledger_accounts", {"id": 1, "kind": "seller_payable", "owner": "shop:1",
                         "currency": "GBP", "created_at": NOW}),
    ("ledger_accounts", {"id": 2, "kind": "cash", "owner": "platform:liveshop",
                         "currency": "GBP", "created_at": NOW}),
    ("ledger_entries", {"id": 1, "source_kind": "test", "source_ref": "1", "memo": "",
                        "posted_at": NOW}),
    ("ledger_postings", {"id": 1, "entry_id": 1, "account_id": 1, "amount": -500}),
    ("ledger_postings", {"id": 2, "entry_id": 1, "account_id": 2, "amount": 500}),
]
PAYOUT_TABLES = {"payout_statements", "payout_items"}


def test_0014_adds_payout_statements_and_keeps_every_row(
        empty_database_url: str) -> None:  # noqa: F811
    config = migrate.alembic_config(empty_database_url)
    command.upgrade(config, "0013")
    engine = make_engine(empty_database_url)
    try:
        insert_rows(engine, ROWS)
        command.upgrade(config, "0014")
        assert set(sa.inspect(engine).get_table_names()) >= PAYOUT_TABLES
        db = Database(empty_database_url)
        try:
            # A posting of no order is never swept: the run finds nothing to pay.
            assert run_payouts(db, PayoutPolicy()).statements == []
        finally:
            db.dispose()
        command.downgrade(config, "0013")
        assert not PAYOUT_TABLES & set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            for table in ("users", "shops", "ledger_accounts", "ledger_postings"):
                assert connection.scalar(sa.text(f"SELECT count(*) FROM {table}")), table
    finally:
        engine.dispose()
