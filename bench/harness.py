"""What the scale benchmarks share: a server in its own process, /proc measurements, latency
percentiles, fresh databases and live-room data built straight through the ORM (signing
thousands of people up would only benchmark password hashing)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from liveshop.accounts import security
from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import ApiToken, User
from liveshop.catalog.orm import Product, Shop, ShopMarket, Variant, VariantPrice
from liveshop.core.db import Database, normalise_url, utcnow
from liveshop.creators.orm import AffiliatePlan
from liveshop.inventory import service as inventory
from liveshop.live import shows
from liveshop.live.schemas import ShowCreate
from liveshop.live.socket_writes import PROTOCOL_PATH
from liveshop.schema import metadata

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
T = TypeVar("T", int, float)
POSTGRES_URL = os.environ.get("LIVESHOP_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
# Nobody logs in with these accounts: one hash for all of them.
UNUSED_PASSWORD_HASH = "argon2-not-used-by-benchmarks"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raise_fd_limit() -> int:
    """Thousands of sockets need more descriptors than the usual soft limit of 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """A process's children (uvicorn's worker processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _over_tree(pid: int, measure: Callable[[int], T]) -> list[T]:
    """``measure`` of a process and of each of its children still running."""
    measured = [measure(pid)]
    for child in children(pid):
        try:
            measured.append(measure(child))
        except OSError:
            continue  # ended meanwhile
    return measured


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children."""
    return sum(_over_tree(pid, cpu_seconds))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children."""
    return sum(_over_tree(pid, rss_kb))


def percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * fraction + 0.5) - 1))]


def migrate(url: str) -> None:
    """Migrate like a deployment does. Tables the migrations do not create yet (a domain
    added them since the last revision) are created from the models, and named, so the
    benchmark still runs while the gap shows."""
    subprocess.run([sys.executable, "-m", "liveshop.cli", "migrate"], check=True,
                   env={**os.environ, "LIVESHOP_DATABASE_URL": url},
                   stdout=subprocess.DEVNULL)
    engine = sa.create_engine(normalise_url(url))
    try:
        missing = sorted(set(metadata.tables) - set(sa.inspect(engine).get_table_names()))
        if missing:
            print(f"  note: migrations lack {', '.join(missing)}; created from the models",
                  flush=True)
            metadata.create_all(engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int, probe: str = "/"
           ) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process on loopback, wait until it answers, stop it afterwards.
    Call raise_fd_limit() first: the server inherits the limit."""
    # stderr goes to a file: a pipe nobody reads would block a chatty server.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(command, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError("server exited: " + log.read().decode(errors="replace"))
            try:
                httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class KeepAliveConnection:
    """One client's keep-alive HTTP/1.1 connection. Hand-written rather than httpx: on two
    cores a general client spends more CPU per request than the servers being measured."""

    def __init__(self, port: int):
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self.request("GET", path)

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
                 *(f"{name}: {value}" for name, value in (headers or {}).items())]
        if body or method != "GET":
            lines.append(f"Content-Length: {len(body)}")
        try:
            writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            fields = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
            content = await reader.readexactly(int(fields["content-length"]))
            if fields.get("connection") == "close":
                self.close()
            return int(head[0].split()[1]), content
        except (OSError, asyncio.IncompleteReadError, KeyError, ValueError):
            self.close()
            raise

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def uvicorn_app(port: int, workers: int = 1) -> list[str]:
    """The app as ``liveshop serve`` runs it (with ``workers`` > 1 it needs Redis)."""
    return [sys.executable, "-m", "uvicorn", "liveshop.main:app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log",
            "--ws", PROTOCOL_PATH, "--workers", str(workers)]


def app_env(database_url: str, folder: str, redis_url: str | None = None) -> dict[str, str]:
    # A serving process refuses to start without a strong secret key.
    env = {"LIVESHOP_DATABASE_URL": database_url, "LIVESHOP_RTMP_PORT": "0",
           "LIVESHOP_MEDIA_DIR": f"{folder}/media",
           "LIVESHOP_SECRET_KEY": secrets.token_urlsafe(48)}
    if redis_url:
        env["LIVESHOP_REDIS_URL"] = redis_url
    return env


def add_workers_options(parser: argparse.ArgumentParser, default: int) -> None:
    """``--workers N`` (app processes) and ``--redis-url``, the Redis they share rooms
    through; read them with :func:`parse_with_workers`."""
    parser.add_argument("--workers", type=int, default=default,
                        help="app processes (more than one share rooms through Redis)")
    parser.add_argument("--redis-url", default=os.environ.get(
        "LIVESHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))


def parse_with_workers(parser: argparse.ArgumentParser, argv: list[str] | None = None
                       ) -> argparse.Namespace:
    """The options; ``redis_url`` is None for one process, which shares nothing."""
    options = parser.parse_args(argv)
    if options.workers == 1:
        options.redis_url = None
    return options


def workers_option(description: str | None) -> argparse.Namespace:
    """``--workers N`` (app processes, default 2) and the Redis they share rooms through."""
    parser = argparse.ArgumentParser(description=(description or "").split("\n", 1)[0])
    add_workers_options(parser, default=2)
    return parse_with_workers(parser)


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for one run, dropped afterwards."""
    admin = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"liveshop_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(normalise_url(POSTGRES_URL)).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _token_for(session: Session, user_id: int) -> str:
    token = security.new_api_token()
    session.add(ApiToken(user_id=user_id, name="bench", token_hash=security.token_digest(token),
                         prefix=token[:10]))
    return token


@dataclass(frozen=True)
class LiveRoom:
    show_id: int
    variant_id: int
    host_token: str
    # A creator's own show: the seller who approves its flash sales, and the creator.
    seller_token: str | None = None
    creator_id: int | None = None


def make_live_show(db: Database, stock: int, hosted_by_creator: bool = False) -> LiveRoom:
    """A seller's show, live now, selling one variant (UK and DE) with ``stock`` units.
    ``hosted_by_creator``: a creator's own show instead, the product open to creators at 10%
    (an open affiliate plan), so every paid line posts the creator's commission too."""
    with db.transaction() as session:
        host = User(email=f"host-{uuid.uuid4().hex[:8]}@bench.test", display_name="Hannah Host",
                    password_hash=UNUSED_PASSWORD_HASH, role=Role.SELLER.value)
        session.add(host)
        session.flush()
        shop = Shop(owner_id=host.id, name="Bench Shop", slug=f"bench-{uuid.uuid4().hex[:8]}")
        shop.markets = [ShopMarket(market="UK", shipping_minor=399),
                        ShopMarket(market="DE", shipping_minor=499)]
        session.add(shop)
        session.flush()
        product = Product(shop_id=shop.id, title="Glow Jacket", tags=",jacket,",
                          status="active")
        session.add(product)
        session.flush()
        variant = Variant(product_id=product.id, shop_id=shop.id, position=0,
                          sku=f"SKU-{uuid.uuid4().hex[:8]}")
        variant.prices = [VariantPrice(market="UK", currency="GBP", amount_minor=2500),
                          VariantPrice(market="DE", currency="EUR", amount_minor=2900)]
        session.add(variant)
        session.flush()
        inventory.ensure_level(session, variant.id)
        inventory.receive(session, variant.id, stock, note="bench")
        host_token = _token_for(session, host.id)
        actor = Actor(host.id, Role.SELLER, host.display_name)
        shop_id, product_id, variant_id = shop.id, product.id, variant.id
        seller_token, creator_id = None, None
        if hosted_by_creator:
            creator = User(email=f"creator-{uuid.uuid4().hex[:8]}@bench.test",
                           display_name="Nina Bench", password_hash=UNUSED_PASSWORD_HASH,
                           role=Role.CREATOR.value)
            session.add(creator)
            session.flush()
            session.add(AffiliatePlan(shop_id=shop_id, product_id=product_id, kind="open",
                                      rate_bp=1000, paused=False))
            seller_token, host_token = host_token, _token_for(session, creator.id)
            actor = Actor(creator.id, Role.CREATOR, creator.display_name)
            creator_id = creator.id
    show = shows.create_show(db, actor, ShowCreate(
        shop_id=None if hosted_by_creator else shop_id, title="Bench drop",
        scheduled_at=utcnow() + timedelta(minutes=1), markets=["UK", "DE"],
        product_ids=[product_id]))
    shows.go_live(db, actor, show.id)
    return LiveRoom(show.id, variant_id, host_token, seller_token, creator_id)
