"""Counting the SQL a request runs, so N+1 queries cannot creep back into a page and a
path meant to skip the database does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event

from liveshop.core.db import Database


@contextlib.contextmanager
def statements(db: Database, kind: str = "") -> Iterator[list[str]]:
    """The SQL statements run on ``db`` inside the block, only those starting with ``kind``
    (e.g. "SELECT": transaction statements such as SQLite's BEGIN IMMEDIATE differ between
    databases) when given."""
    seen: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith(kind):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def selects(db: Database) -> contextlib.AbstractContextManager[list[str]]:
    return statements(db, "SELECT")
