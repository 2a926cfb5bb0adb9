"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from LIVESHOP_TEST_POSTGRES_URL (default: the local server). Each test
session, so each pytest-xdist worker, creates its own throw-away database, so parallel runs
never share state. With CI=true a missing PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx._transports.default
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from liveshop.app import create_app
from liveshop.core.config import Settings
from liveshop.core.db import Database, normalise_url
from liveshop.schema import metadata
from liveshop.services import app_services

POSTGRES_URL = os.environ.get(
    "LIVESHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LIVESHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ON_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_PASSWORD = "correct-horse-battery"
T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a thread of its own: Playwright's sync API (browser tests in the same
    session) keeps an event loop running on the main thread, where asyncio.run refuses."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _admin_engine() -> sa.Engine:
    return sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    admin = _admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        if ON_CI:
            pytest.fail(f"PostgreSQL is required on CI and is not reachable: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} (local run only)")
    name = f"liveshop_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(normalise_url(POSTGRES_URL)).set(database=name)
    rendered = url.render_as_string(hide_password=False)
    engine = sa.create_engine(rendered)
    metadata.create_all(engine)
    engine.dispose()
    yield rendered
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """The Redis server (CI has one); with CI=true a missing Redis fails, never skips."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        if ON_CI:
            pytest.fail(f"Redis is required on CI and is not reachable: {error}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} (local run only)")
    return REDIS_URL


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """The Redis server, to this test alone: the tests on one Redis take turns (a lock file
    per server) across pytest-xdist workers and test runs on this machine. Its pub/sub
    channels (liveshop:show:<id>, and every test database numbers its shows from 1) and its
    client list are server-wide whatever the database number, so rooms of two tests at once
    would hear each other. (pytest-xdist's `xdist_group` cannot do it: its loadgroup mode
    silently stopped grouping with pytest 9.2, pytest-xdist issue 1386.)"""
    server = hashlib.sha256(redis_server_url.encode()).hexdigest()[:12]
    turn = Path(tempfile.gettempdir()) / f"liveshop-tests-redis-{os.getuid()}-{server}.lock"
    with turn.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield redis_server_url
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def empty_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema in a SQLite file, built once: a copy costs well under a millisecond,
    building the schema ~200 ms, for each of hundreds of tests."""
    path = tmp_path_factory.mktemp("template") / "empty.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("empty_sqlite_file"), tmp_path / "test.db")
        return f"sqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        media_dir=tmp_path / "media",
        secret_key="test-secret",
        rtmp_port=0,  # tests that ingest video pick a free port themselves
        mail_backend="memory",
        _env_file=None,  # type: ignore[call-arg, unused-ignore]
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database) -> Any:
    return create_app(settings, db)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


class UserClient:
    """A logged-in HTTP client for one user: cookie session plus its CSRF header."""

    def __init__(self, client: TestClient, user: dict[str, Any], csrf: str):
        self.http = client
        self.user = user
        self.id: int = user["id"]
        client.headers["X-CSRF-Token"] = csrf

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)


@pytest.fixture
def make_user(app: Any) -> Iterator[Any]:
    """make_user(role="buyer", email=None) -> UserClient, signed up and logged in."""
    clients: list[TestClient] = []

    def factory(role: str = "buyer", email: str | None = None, name: str | None = None
                ) -> UserClient:
        http = TestClient(app)
        clients.append(http)
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        response = http.post("/api/v1/auth/signup", json={
            "email": email, "password": DEFAULT_PASSWORD,
            "display_name": name or role.title(), "role": role if role in (
                "buyer", "seller", "creator") else "buyer",
        })
        assert response.status_code == 201, response.text
        body = response.json()
        if role in ("moderator", "admin"):
            _grant_role(app, body["user"]["id"], role)
            body["user"]["role"] = role
        return UserClient(http, body["user"], body["csrf_token"])

    yield factory
    for http in clients:
        http.close()


def _grant_role(app: Any, user_id: int, role: str) -> None:
    from liveshop.accounts.orm import User

    with app_services(app).context.db.transaction() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.role = role


@pytest.fixture(autouse=True, scope="session")
def one_ssl_context_for_every_http_client() -> Iterator[None]:
    """httpx builds a new SSL context for every client, loading the whole CA bundle (about
    50 ms here); the tests make thousands of clients, all speaking plain HTTP to loopback.
    One context, built once, serves them all."""
    build = httpx._transports.default.create_ssl_context
    httpx._transports.default.create_ssl_context = functools.cache(build)
    yield
    httpx._transports.default.create_ssl_context = build
