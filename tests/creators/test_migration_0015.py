"""Revision 0015 (creator profiles, showcases, share-link clicks, samples) upgrades a
database in use: every creator gets a handle derived from their name (a clash gets a
number), nobody else gets one, targeted plans made before stay earning (accepted when
made), and it downgrades back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from liveshop.core import migrate
from liveshop.core.db import make_engine
from tests.core.test_migrations import empty_database_url, insert_rows  # noqa: F401

NOW = datetime.now(UTC).replace(tzinfo=None)


def user(user_id: int, name: str, role: str) -> tuple[str, dict[str, object]]:
    return ("users", {"id": user_id, "email": f"u{user_id}@x.test", "display_name": name,
                      "password_hash": "-", "role": role, "is_active": True,
                      "created_at": NOW})


ROWS: list[tuple[str, dict[str, object]]] = [
    user(1, "Sam Seller", "seller"), user(2, "Nina Live", "creator"),
    user(3, "Nina Live", "creator"), user(4, "李", "creator"), user(5, "Ann", "buyer"),
    ("shops", {"id": 1, "owner_id": 1, "name": "S", "slug": "s", "description": "",
               "created_at": NOW}),
    ("products", {"id": 1, "shop_id": 1, "title": "Scarf", "description": "", "tags": "",
                  "status": "active", "created_at": NOW, "updated_at": NOW}),
    ("affiliate_plans", {"id": 1, "shop_id": 1, "product_id": 1, "kind": "targeted",
                         "creator_id": 2, "rate_bp": 1500, "paused": False,
                         "ends_at": NOW + timedelta(days=30), "created_at": NOW,
                         "updated_at": NOW}),
    ("affiliate_plans", {"id": 2, "shop_id": 1, "product_id": 1, "kind": "open",
                         "creator_id": None, "rate_bp": 1000, "paused": False,
                         "ends_at": None, "created_at": NOW, "updated_at": NOW}),
]


def test_0015_gives_existing_creators_handles(empty_database_url: str  # noqa: F811
                                              ) -> None:
    config = migrate.alembic_config(empty_database_url)
    command.upgrade(config, "0013")
    engine = make_engine(empty_database_url)
    try:
        insert_rows(engine, ROWS)
        command.upgrade(config, "0015")
        with engine.connect() as connection:
            handles = connection.execute(sa.text(
                "SELECT user_id, handle FROM creator_profiles ORDER BY user_id")).all()
            accepted = connection.execute(sa.text(
                "SELECT id, accepted_at IS NOT NULL FROM affiliate_plans ORDER BY id")).all()
        assert [tuple(row) for row in handles] == [
            (2, "ninalive"), (3, "ninalive2"), (4, "creator4")]
        assert [(plan_id, bool(flag)) for plan_id, flag in accepted] == [
            (1, True), (2, False)]

        command.downgrade(config, "0013")
        tables = sa.inspect(engine).get_table_names()
        assert "creator_profiles" not in tables and "share_clicks" not in tables
        columns = {column["name"] for column in sa.inspect(engine).get_columns(
            "affiliate_plans")}
        assert "accepted_at" not in columns
    finally:
        engine.dispose()
