"""Revision 0017 (a creator's own show, flash-sale proposals) upgrades a database in use:
every show keeps its shop, its lineup, chat and sales (copying the table on SQLite must not
cascade to them), and it downgrades back."""

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
    ("products", {"id": 1, "shop_id": 1, "title": "Scarf", "description": "", "tags": "",
                  "status": "active", "created_at": NOW, "updated_at": NOW}),
    ("shows", {"id": 1, "shop_id": 1, "host_id": 1, "title": "Show", "description": "",
               "markets": ",UK,", "status": "ended", "scheduled_at": NOW,
               "slow_mode_seconds": 0, "created_at": NOW}),
    ("show_products", {"show_id": 1, "product_id": 1, "position": 0}),
    ("chat_messages", {"id": 1, "show_id": 1, "user_id": 1, "author": "S", "text": "hi",
                       "created_at": NOW}),
]


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0
                for table, _ in ROWS}


def test_0017_keeps_every_show_with_its_lineup_and_chat(empty_database_url: str  # noqa: F811
                                                       ) -> None:
    config = migrate.alembic_config(empty_database_url)
    previous = ScriptDirectory.from_config(config).get_revision("0017").down_revision
    assert isinstance(previous, str)
    command.upgrade(config, previous)
    engine = make_engine(empty_database_url)
    try:
        insert_rows(engine, ROWS)
        before = _counts(engine)
        command.upgrade(config, "0017")
        assert "flash_sale_proposals" in sa.inspect(engine).get_table_names()
        assert _counts(engine) == before
        shop_id = next(column for column in sa.inspect(engine).get_columns("shows")
                       if column["name"] == "shop_id")
        assert shop_id["nullable"]

        command.downgrade(config, previous)
        assert "flash_sale_proposals" not in sa.inspect(engine).get_table_names()
        assert _counts(engine) == before
    finally:
        engine.dispose()
