"""Flash-sale reservations: 2,000 concurrent attempts on 100 units.

Checks that exactly 100 are reserved (never oversold) and reports attempts per second and
latency percentiles, beside a baseline measured in the same run: the same number of
trivial one-row transactions (``SELECT 1``) through the same pool, i.e. what the database
round trip alone costs on this machine.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa

from liveshop.accounts.orm import User
from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.core.db import Database, normalise_url
from liveshop.core.errors import Conflict
from liveshop.inventory import service as inventory
from liveshop.schema import metadata

ATTEMPTS = 2000
UNITS = 100
THREADS = 32
POSTGRES_URL = os.environ.get("LIVESHOP_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")


def _setup(db: Database) -> int:
    metadata.create_all(db.engine)
    with db.transaction() as session:
        user = User(email=f"{uuid.uuid4().hex}@bench", display_name="b", password_hash="x")
        session.add(user)
        session.flush()
        shop = Shop(owner_id=user.id, name="b", slug=uuid.uuid4().hex)
        session.add(shop)
        session.flush()
        product = Product(shop_id=shop.id, title="b", status="active")
        session.add(product)
        session.flush()
        variant = Variant(product_id=product.id, shop_id=shop.id, sku=uuid.uuid4().hex[:12])
        session.add(variant)
        session.flush()
        inventory.ensure_level(session, variant.id)
        inventory.receive(session, variant.id, UNITS)
        return variant.id


def _timed(work: Callable[[], bool]) -> tuple[list[float], float, int]:
    latencies: list[float] = []

    def one(_: int) -> bool:
        started = time.perf_counter()
        ok = work()
        latencies.append(time.perf_counter() - started)
        return ok

    began = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        successes = sum(pool.map(one, range(ATTEMPTS)))
    return latencies, time.perf_counter() - began, successes


def _report(name: str, latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    result = {"per_second": ATTEMPTS / elapsed, "p50_ms": statistics.median(ordered) * 1000,
              "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000}
    print(f"  {name:<28} {result['per_second']:8.0f}/s  p50 {result['p50_ms']:6.1f} ms"
          f"  p99 {result['p99_ms']:6.1f} ms")
    return result


def run(url: str, label: str) -> None:
    db = Database(url)
    try:
        variant_id = _setup(db)

        def reserve() -> bool:
            try:
                with db.transaction() as session:
                    inventory.reserve(session, variant_id, 1, holder_id=None,
                                      ttl=timedelta(minutes=10))
                return True
            except Conflict:
                return False

        def round_trip() -> bool:
            with db.transaction() as session:
                session.execute(sa.text("SELECT 1"))
            return True

        print(f"{label}: {ATTEMPTS} attempts, {UNITS} units, {THREADS} threads")
        base_latencies, base_elapsed, _ = _timed(round_trip)
        baseline = _report("baseline (SELECT 1 tx)", base_latencies, base_elapsed)
        latencies, elapsed, reserved = _timed(reserve)
        measured = _report("reserve (conditional UPDATE)", latencies, elapsed)
        assert reserved == UNITS, f"reserved {reserved}, expected exactly {UNITS}"
        print(f"  reserved exactly {reserved}; throughput ratio to baseline "
              f"{measured['per_second'] / baseline['per_second']:.2f}")
    finally:
        db.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.db", "SQLite")
    admin = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"liveshop_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.make_url(normalise_url(POSTGRES_URL)).set(database=name)
        run(url.render_as_string(hide_password=False), "PostgreSQL")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
