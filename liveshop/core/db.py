"""Database engine, declarative base and the unit of work.

SQLite (embedded default) and PostgreSQL (production) run the same code. On SQLite every
transaction starts with ``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read
lock; WAL keeps readers concurrent with the single writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import (
    CursorResult,
    DateTime,
    Engine,
    MetaData,
    Result,
    Table,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, configure_mappers, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


log = logging.getLogger("liveshop.db")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back timezone-aware datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip per transaction. A connection that died with the
        # database fails one request (503) and makes the pool replace every older one.
        return create_engine(url, pool_size=20, max_overflow=20, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20,
        max_overflow=20, **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front (no deadlocking lock upgrades); readers
        # read a WAL snapshot beside them.
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


READ_ONLY = "liveshop_read_only"
# Where a session keeps the domain events recorded in it (liveshop/core/events.py).
PENDING_EVENTS = "liveshop.pending_events"


class AfterCommit(Protocol):
    def committed(self, events: list[Any]) -> None:
        """Handle the events a transaction recorded, now that it has committed."""


def read_options(engine: Engine) -> dict[str, Any]:
    """How read-only sessions connect. On PostgreSQL, autocommit: a read-committed
    transaction gives each statement its own snapshot anyway, and skipping BEGIN and
    ROLLBACK saves two round trips per read (every API request authenticates with one)."""
    if engine.dialect.name == "postgresql":
        return {"isolation_level": "AUTOCOMMIT"}
    return {READ_ONLY: True}


class Database:
    """Owns the engine; services open one transaction per use case through it."""

    def __init__(self, url: str, after_commit: AfterCommit | None = None):
        """``after_commit``: handles the domain events each transaction records (the
        composition root passes its event bus; without one they are dropped)."""
        self.url = normalise_url(url)
        self.after_commit = after_commit
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**read_options(self.engine)), expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit when the block ends normally; roll back on any exception. The domain
        events recorded in it are handled after the commit, never after a rollback."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            events = session.info.pop(PENDING_EVENTS, None)
            session.close()
        if events and self.after_commit is not None:
            self.after_commit.committed(events)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """For reading only: nothing written here is committed."""
        session = self._read_sessions()
        try:
            yield session
        finally:
            # close() ends the transaction without expiring loaded objects.
            session.close()

    def warm(self) -> None:
        """Configure the ORM and open a first connection before traffic comes: done by the
        first requests of a new process instead, they held its event loop right when a flash
        sale's first taps arrived (docs/decisions/0004-serving-process-tuning.md)."""
        configure_mappers()
        try:
            with self.engine.connect():
                pass
        except DBAPIError as error:  # requests answer 503 until the database is back
            log.warning("the database did not answer at start-up: %s", error.orig)

    def dispose(self) -> None:
        self.engine.dispose()


def rows_affected(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE touched: how conditional writes learn whether they won."""
    return cast(CursorResult[Any], result).rowcount


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]
                ) -> None:
    """Many rows in a few statements, in the session's transaction. Every row names the
    same columns, and every column without a database default (Python-side defaults are
    not applied here).

    PostgreSQL: one COPY (psycopg parses a statement's placeholders on the client, which
    costs more than the server's work for a multi-row INSERT of thousands of values).
    SQLite: an executemany, which runs in-process."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    session.flush()
    names = list(rows[0])
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in names)
        driver = connection.connection.driver_connection
        assert driver is not None
        statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(tuple(row[name] for name in names))
        except Exception as error:
            # The driver's own error: a broken constraint (SQLSTATE class 23) is raised as
            # SQLAlchemy raises it for an INSERT, so callers handle both alike.
            if str(getattr(error, "sqlstate", "") or "").startswith("23"):
                raise IntegrityError(statement, None, error) from error
            raise
        return
    connection.execute(insert(table), list(rows))


def refresh_statistics(session: Session, tables: Sequence[str]) -> None:
    """Let PostgreSQL's planner see tables a bulk load is filling (ANALYZE, in the session's
    transaction). Its statistics of a table that was empty when the load began say it is
    still tiny, so it reads a growing table from end to end for an ``IN (...)`` that an index
    answers; autoanalyze comes too late for a load. SQLite: nothing to do."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(tables)}"))


def upsert_into(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can take ON CONFLICT: both databases speak it, but SQLAlchemy builds
    it per dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def set_row_present(session: Session, table: type[Base], key: tuple[int, int], present: bool,
                    make: Callable[[], Base]) -> None:
    """Make the row with this primary key exist (``present``, built by ``make``) or not.
    Repeating a request is harmless, even two identical ones at once: the loser's insert is
    rolled back to a savepoint."""
    existing = session.get(table, key)
    if present and existing is None:
        try:
            with session.begin_nested():
                session.add(make())
        except IntegrityError:
            pass  # the concurrent twin stored it first
    elif not present and existing is not None:
        session.delete(existing)
