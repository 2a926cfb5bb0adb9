"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from liveshop.cli import app as cli
from liveshop.core import migrate
from liveshop.core.config import get_settings
from liveshop.core.db import make_engine, utcnow
from liveshop.schema import metadata
from tests.conftest import _admin_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("postgres_url")  # fails on CI, skips locally, if PostgreSQL is down
    admin = _admin_engine()
    name = f"liveshop_mig_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def insert_rows(engine: sa.Engine, rows: list[tuple[str, dict[str, object]]]) -> None:
    """Rows written as an older revision's tables hold them, with plain SQL (the ORM's
    models describe the newest revision), for a migration test to check they survive."""
    with engine.begin() as connection:
        for table, row in rows:
            columns = ", ".join(row)
            values = ", ".join(f":{column}" for column in row)
            connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"),
                               row)


def test_migrations_match_the_models_and_rerun_cleanly(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    migrate.upgrade(empty_database_url)  # idempotent
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_cli_migrate_is_idempotent(empty_database_url: str, monkeypatch: pytest.MonkeyPatch
                                   ) -> None:
    monkeypatch.setenv("LIVESHOP_DATABASE_URL", empty_database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        for _ in range(2):
            result = runner.invoke(cli, ["migrate"])
            assert result.exit_code == 0, result.output
            assert "newest schema" in result.output
    finally:
        get_settings.cache_clear()


def test_upgrading_moves_the_steps_stored_under_derived_keys_into_their_scopes(
    empty_database_url: str
) -> None:
    # Steps the server ran under a client's key K used to be stored as "K:offer",
    # "K:checkout", "K:pay", "K:release": in flight during the upgrade, they must replay.
    config = migrate.alembic_config(empty_database_url)
    before = ScriptDirectory.from_config(config).get_revision("0004").down_revision
    assert isinstance(before, str)
    command.upgrade(config, before)
    stored = {"K": "client", "K:offer": "offer", "K:checkout": "checkout", "K:pay": "pay",
              "K:release": "release", "K:checkout:pay": "pay", "L:PAY": "client",
              ":pay": "client", "K:refund": "client"}
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO users (id, email, display_name, password_hash, role, is_active, "
                "created_at) VALUES (1, 'u@example.com', 'U', '-', 'buyer', :yes, :now)"),
                {"yes": True, "now": utcnow()})
            for number, key in enumerate(stored):
                connection.execute(sa.text(
                    "INSERT INTO idempotency_keys (user_id, key, fingerprint, state, "
                    "response_status, created_at) VALUES (1, :key, :print, 'done', 200, :now)"),
                    {"key": key, "print": f"f{number}", "now": utcnow()})
        command.upgrade(config, "0004")
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT fingerprint, scope, key FROM idempotency_keys")).all()
        moved = {f"f{number}": (scope, key.removesuffix(f":{scope}"))
                 for number, (key, scope) in enumerate(stored.items())}
        assert {row.fingerprint: (row.scope, row.key) for row in rows} == moved

        command.downgrade(config, before)
        with engine.connect() as connection:
            keys = set(connection.scalars(sa.text("SELECT key FROM idempotency_keys")))
        assert keys == set(stored)
    finally:
        engine.dispose()
