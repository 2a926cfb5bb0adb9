"""Revision 0009 (the books) upgrades a database in use without losing a row, and the
books work in the upgraded database."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from liveshop.core import migrate
from liveshop.core.db import Database, make_engine
from liveshop.creators.model import PaidLine, line_paid_entry
from liveshop.ledger import service as ledger
from tests.core.test_migrations import empty_database_url, insert_rows  # noqa: F401

NOW = datetime.now(UTC).replace(tzinfo=None)
ROWS: list[tuple[str, dict[str, object]]] = [
    ("users", {"id": 1, "email": "s@x.test", "display_name": "S", "password_hash": "-",
               "role": "seller", "is_active": True, "created_at": NOW}),
    ("shops", {"id": 1, "owner_id": 1, "name": "S", "slug": "s", "description": "",
               "created_at": NOW}),
]
LEDGER_TABLES = ("ledger_accounts", "ledger_entries", "ledger_postings")


def test_0009_adds_the_books_and_keeps_every_row(empty_database_url: str  # noqa: F811
                                                 ) -> None:
    config = migrate.alembic_config(empty_database_url)
    command.upgrade(config, "0008")
    engine = make_engine(empty_database_url)
    try:
        insert_rows(engine, ROWS)
        command.upgrade(config, "0009")
        assert set(LEDGER_TABLES) <= set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            for table, _ in ROWS:
                assert connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 1, table

        db = Database(empty_database_url)
        try:
            line = PaidLine.priced(1, 1, "UK", 2400)
            with db.transaction() as session:
                assert ledger.post(session, line_paid_entry(line)).new
            assert all(row.balanced for row in ledger.trial_balance_of(db))
        finally:
            db.dispose()

        command.downgrade(config, "0008")
        tables = set(sa.inspect(engine).get_table_names())
        assert not tables & set(LEDGER_TABLES)
        with engine.connect() as connection:
            for table, _ in ROWS:
                assert connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 1, table
    finally:
        engine.dispose()
