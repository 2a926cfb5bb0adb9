"""Database start-up (liveshop/core/db.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from liveshop.core.db import Database
from tests.live.conftest import free_port


def test_warm_leaves_a_connection_ready_in_the_pool(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/warm.db")
    try:
        db.warm()
        assert db.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    finally:
        db.dispose()


def test_warm_with_the_database_unreachable_logs_and_lets_the_app_start(
        caplog: pytest.LogCaptureFixture) -> None:
    db = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        with caplog.at_level(logging.WARNING, logger="liveshop.db"):
            db.warm()
        assert "did not answer at start-up" in caplog.text
    finally:
        db.dispose()
