"""The database goes away for a few seconds: requests get a clear 503, nothing is half
written, and service resumes by itself when it is back."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from liveshop.accounts.orm import User
from liveshop.app import create_app
from liveshop.core.config import Settings
from liveshop.core.db import Database
from tests.conftest import DEFAULT_PASSWORD


class Outage:
    """A TCP proxy in front of PostgreSQL that the test can cut and restore."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        for sock in [self.listener, *self.sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self.sockets.clear()
        self.listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def outage(postgres_url: str) -> Iterator[tuple[Outage, str]]:
    url = sa.make_url(postgres_url)
    proxy = Outage((url.host or "127.0.0.1", url.port or 5432))
    proxy.restore()
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    proxy.cut()


def test_503_while_the_database_is_unreachable_then_recovery(
    outage: tuple[Outage, str], tmp_path: Path
) -> None:
    proxy, url = outage
    settings = Settings(database_url=url, media_dir=tmp_path / "media", secret_key="t",
                        _env_file=None)  # type: ignore[call-arg, unused-ignore]
    db = Database(url)
    app: Any = create_app(settings, db)
    client = TestClient(app)
    assert client.get("/api/v1/products").status_code == 200

    proxy.cut()
    down = client.get("/api/v1/products")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "unavailable" and down.headers["Retry-After"]
    signup = client.post("/api/v1/auth/signup", json={
        "email": "outage@example.com", "password": DEFAULT_PASSWORD, "display_name": "O"})
    assert signup.status_code == 503

    proxy.restore()
    assert client.get("/api/v1/products").status_code == 200
    with db.read() as session:  # the write during the outage left nothing behind
        assert session.query(User).filter_by(email="outage@example.com").count() == 0
    retried = client.post("/api/v1/auth/signup", json={
        "email": "outage@example.com", "password": DEFAULT_PASSWORD, "display_name": "O"})
    assert retried.status_code == 201
    db.dispose()
