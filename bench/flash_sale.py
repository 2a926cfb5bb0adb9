"""A flash sale in a live room, end to end: 2,000 buyers tap "buy" at once on 100 units.

The real app runs in its own uvicorn process; every buyer (made through the ORM with a
default address, a saved card and an API token) sends one POST /shows/{id}/buy with an
Idempotency-Key, about 200 at a time through httpx. Run on SQLite and on a fresh
PostgreSQL database. Checks exactly 100 sold, nothing oversold (flash-sale units, stock
counters and paid order lines agree) and no double charge (one succeeded payment per
checkout, as many payments as orders).

Baseline in the same run, through the same client and server: GET /api/v1/markets, which
touches no database. Also counts how many attempts reached the database's claim and how
many the in-memory sold-out gate answered, and on PostgreSQL the transactions committed.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from bench import harness
from liveshop.checkout.orm import Payment
from liveshop.core.db import Database
from liveshop.core.idempotency import IdempotencyRecord
from liveshop.inventory.orm import StockLevel
from liveshop.live.orm import FlashSale
from liveshop.orders.orm import Order, OrderLine
from tests.factories import make_buyers

BUYERS = 2000
UNITS = 100
CONCURRENCY = 200
# httpx scans its pool per request: ten clients of 20 connections load the server twice as
# hard as one client of 200 (measured on this machine), the client still being the limit
# for the cheap baseline.
CLIENTS = 10
SALE_PRICE = {"UK": 1000, "DE": 1200}
TARGET_PER_SECOND = 1000
TARGET_P99_MS = 200


@dataclass
class Load:
    statuses: Counter[int]
    latencies: list[float]
    seconds: float
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, fraction: float) -> float:
        return harness.percentile(sorted(self.latencies), fraction) * 1000

    def line(self, name: str) -> str:
        return (f"  {name:<24} {self.per_second:7.0f}/s  p50 {self.p(0.5):6.1f} ms"
                f"  p99 {self.p(0.99):7.1f} ms"
                f"  server {self.cpu_seconds * 1000 / len(self.latencies):.2f} CPU ms/request"
                f"  statuses {dict(sorted(self.statuses.items()))}")


async def _load(requests: list[Callable[[httpx.AsyncClient], httpx.Request]], port: int,
                pid: int) -> Load:
    """Send every request, CONCURRENCY at a time, over kept-alive connections."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    work = iter(requests)
    per_client = CONCURRENCY // CLIENTS
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                 limits=limits) for _ in range(CLIENTS)]

    async def worker(client: httpx.AsyncClient) -> None:
        for build in work:
            started = time.perf_counter()
            response = await client.send(build(client))
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1

    try:
        cpu_before, began = harness.cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(worker(clients[index % CLIENTS])
                               for index in range(CONCURRENCY)))
        return Load(statuses, latencies, time.perf_counter() - began,
                    harness.cpu_seconds(pid) - cpu_before)
    finally:
        for client in clients:
            await client.aclose()


def _transactions(db: Database) -> int | None:
    """Transactions PostgreSQL has finished in this database (None on SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return None
    time.sleep(1.5)  # backends report their counts at most once a second
    with db.engine.connect() as connection:
        return int(connection.execute(sa.text(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()")).scalar_one())


def _check(db: Database, sale_id: int, variant_id: int, show_id: int) -> dict[str, int]:
    """Never oversold, never charged twice: the stored state must agree with itself."""
    with db.read() as session:
        sale = session.get(FlashSale, sale_id)
        stock = session.get(StockLevel, variant_id)
        assert sale is not None and stock is not None
        sold_lines = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.variant_id == variant_id, Order.status == "paid",
                   Order.show_id == show_id))
        orders = session.scalar(sa.select(sa.func.count()).select_from(Order)
                                .where(Order.show_id == show_id, Order.status == "paid"))
        payments = session.scalar(sa.select(sa.func.count()).select_from(Payment)
                                  .where(Payment.status == "succeeded"))
        charged_twice = session.scalar(sa.select(sa.func.count()).select_from(
            sa.select(Payment.checkout_id).where(Payment.status == "succeeded")
            .group_by(Payment.checkout_id).having(sa.func.count() > 1).subquery()))
        claims = session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)
                                .where(IdempotencyRecord.key.like("%:offer")))
    result = {"sale_remaining": sale.remaining, "available": stock.available,
              "reserved": stock.reserved, "sold": stock.sold, "paid_lines": int(sold_lines or 0),
              "orders": int(orders or 0), "payments": int(payments or 0),
              "charged_twice": int(charged_twice or 0), "claims": int(claims or 0)}
    assert result["sale_remaining"] == 0, result
    assert (result["available"], result["reserved"], result["sold"]) == (0, 0, UNITS), result
    assert result["paid_lines"] == UNITS and result["orders"] == UNITS, result
    assert result["payments"] == result["orders"] and result["charged_twice"] == 0, result
    return result


def run(url: str, label: str, folder: str) -> dict[str, float]:
    harness.migrate(url)
    db = Database(url)
    try:
        room = harness.make_live_show(db, stock=UNITS)
        tokens = make_buyers(db, BUYERS)
        port = harness.free_port()
        with harness.server(harness.uvicorn_app(port), harness.app_env(url, folder),
                            port) as process:
            started = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/shows/{room.show_id}/sales",
                headers={"Authorization": f"Bearer {room.host_token}"},
                json={"variant_id": room.variant_id, "prices": SALE_PRICE, "quantity": UNITS,
                      "per_buyer_limit": 1, "duration_seconds": 600}, timeout=30)
            assert started.status_code == 201, started.text
            sale_id = started.json()["id"]

            def markets(client: httpx.AsyncClient) -> httpx.Request:
                return client.build_request("GET", "/api/v1/markets")

            def tap(token: str) -> Callable[[httpx.AsyncClient], httpx.Request]:
                return lambda client: client.build_request(
                    "POST", f"/api/v1/shows/{room.show_id}/buy",
                    json={"variant_id": room.variant_id, "quantity": 1},
                    headers={"Authorization": f"Bearer {token}", "Accept-Language": "en-GB",
                             "Idempotency-Key": uuid.uuid4().hex})

            print(f"{label}: {BUYERS} buyers, {UNITS} units, {CONCURRENCY} in flight", flush=True)
            baseline = asyncio.run(_load([markets] * BUYERS, port, process.pid))
            print(baseline.line("baseline GET /markets"), flush=True)
            transactions_before = _transactions(db)
            sale = asyncio.run(_load([tap(token) for token in tokens], port, process.pid))
            transactions_after = _transactions(db)
            print(sale.line("POST /buy (flash sale)"), flush=True)
        assert sale.statuses[201] == UNITS, f"sold {sale.statuses[201]}, expected {UNITS}"
        assert sale.statuses[409] == BUYERS - UNITS, sale.statuses
        state = _check(db, sale_id, room.variant_id, room.show_id)
    finally:
        db.dispose()
    gated = sale.statuses[409] - (state["claims"] - UNITS)
    print(f"  sold exactly {state['paid_lines']}; oversold 0 (sale remaining"
          f" {state['sale_remaining']}, stock available/reserved/sold {state['available']}/"
          f"{state['reserved']}/{state['sold']}); payments {state['payments']} = orders"
          f" {state['orders']}, charged twice {state['charged_twice']}", flush=True)
    print(f"  sold-out answers: {gated} from the in-memory gate, {state['claims'] - UNITS}"
          f" after a database claim", flush=True)
    if transactions_before is not None and transactions_after is not None:
        spent = transactions_after - transactions_before
        print(f"  PostgreSQL transactions during the sale: {spent:,}"
              f" ({spent / BUYERS:.1f} per attempt)", flush=True)
    ratio = sale.per_second / baseline.per_second
    print(f"  attempts/s ratio to baseline {ratio:.2f}; p99 ratio"
          f" {sale.p(0.99) / baseline.p(0.99):.2f}", flush=True)
    return {"per_second": sale.per_second, "p99_ms": sale.p(0.99)}


def main() -> None:
    harness.raise_fd_limit()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.db", "SQLite", folder)
        with harness.fresh_postgres() as url:
            postgres = run(url, "PostgreSQL", folder)
    print(f"  target on PostgreSQL >= {TARGET_PER_SECOND} attempts/s:"
          f" {'PASS' if postgres['per_second'] >= TARGET_PER_SECOND else 'FAIL'}"
          f" ({postgres['per_second']:.0f}); p99 <= {TARGET_P99_MS} ms:"
          f" {'PASS' if postgres['p99_ms'] <= TARGET_P99_MS else 'FAIL'}"
          f" ({postgres['p99_ms']:.0f} ms)", flush=True)


if __name__ == "__main__":
    main()
