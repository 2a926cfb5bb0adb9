"""Counting the SQL a request runs, so N+1 queries cannot creep back into a page."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event

from liveshop.core.db import Database


@contextlib.contextmanager
def selects(db: Database) -> Iterator[list[str]]:
    """The SELECT statements run on ``db`` inside the block. Only SELECTs: transaction
    statements (SQLite's BEGIN IMMEDIATE) differ between databases."""
    seen: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
