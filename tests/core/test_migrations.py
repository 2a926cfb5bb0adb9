"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from typer.testing import CliRunner

from liveshop.cli import app as cli
from liveshop.core import migrate
from liveshop.core.config import get_settings
from liveshop.core.db import make_engine
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
