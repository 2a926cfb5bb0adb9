"""A flash sale in a live room, end to end: 2,000 buyers tap "buy" at once on 100 units.

The real app runs as ``liveshop serve`` runs it: uvicorn with ``--workers N`` (default 2,
sharing rooms, rate limits and presence through Redis). Every buyer (made through the ORM with
a default address, a saved card and an API token) sends one POST /shows/{id}/buy with an
Idempotency-Key, 200 at a time over kept-alive connections of a minimal HTTP/1.1 client
(httpx would spend more CPU than the server). A winner is answered 202 once its unit is
claimed and paid for right after (liveshop/live/purchases.py): the run reports when the last
one was paid. Then 2,000 other buyers tap the sold-out sale (answered from memory). Run on
SQLite and on a fresh PostgreSQL database. Checks exactly 100 sold, nothing oversold
(flash-sale units, stock counters and paid order lines agree) and no double charge (one
succeeded payment per checkout, as many payments as orders).

Baseline in the same run, through the same client and server: GET /api/v1/markets, which
touches no database. Also reports latency by status (purchases and sold-out answers), how
many sold-out answers came from the in-memory gate, and on PostgreSQL the transactions
committed.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
import uvloop

from bench import harness, machine
from liveshop.core.db import Database
from liveshop.core.idempotency import IdempotencyRecord
from liveshop.creators.model import LINE_PAID
from liveshop.inventory.orm import StockLevel
from liveshop.ledger.orm import JournalEntryRow
from liveshop.live.claims import CLAIM_STEP
from liveshop.live.orm import FlashSale, SalePurchase
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.orm import Payment
from tests.factories import make_buyers

BUYERS = 2000
UNITS = 100
CONCURRENCY = 200
SALE_PRICE = {"UK": 1000, "DE": 1200}
TARGET_PER_SECOND = 1000
TARGET_P99_MS = 200


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Load:
    statuses: Counter[int]
    latencies: list[float]
    seconds: float
    cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    # (seconds since the start when answered, status, latency): where the time went.
    answers: list[tuple[float, int, float]] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, fraction: float) -> float:
        return harness.percentile(sorted(self.latencies), fraction) * 1000

    def by_status(self) -> str:
        """p50/p99 and when the last one was answered, per status."""
        parts = []
        for status in sorted(self.statuses):
            mine = [answer for answer in self.answers if answer[1] == status]
            waits = sorted(latency for _, _, latency in mine)
            parts.append(f"{status}: p50 {harness.percentile(waits, 0.5) * 1000:.0f} ms,"
                         f" p99 {harness.percentile(waits, 0.99) * 1000:.0f} ms,"
                         f" last at {max(at for at, _, _ in mine):.2f} s")
        return "; ".join(parts)

    def line(self, name: str) -> str:
        return (f"  {name:<24} {self.per_second:7.0f}/s  p50 {self.p(0.5):6.1f} ms"
                f"  p99 {self.p(0.99):7.1f} ms"
                f"  server {self.cpu_seconds * 1000 / len(self.latencies):.2f} CPU ms/request"
                f" ({self.cpu_seconds / self.seconds:.2f} cores),"
                f" client {self.client_cpu_seconds / self.seconds:.2f} cores"
                f"  statuses {dict(sorted(self.statuses.items()))}")


async def _load(calls: list[Call], port: int, pid: int) -> Load:
    """Send every call, CONCURRENCY at a time, over connections opened beforehand."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    answers: list[tuple[float, int, float]] = []
    work = iter(calls)
    connections = [harness.KeepAliveConnection(port) for _ in range(CONCURRENCY)]
    for connection in connections:
        await connection.get("/api/v1/markets")

    async def worker(connection: harness.KeepAliveConnection) -> None:
        for call in work:
            started = time.perf_counter()
            status, _ = await connection.request(call.method, call.path, call.headers,
                                                 call.body)
            finished = time.perf_counter()
            latencies.append(finished - started)
            answers.append((finished - began, status, finished - started))
            statuses[status] += 1

    try:
        cpu_before, own_before = harness.tree_cpu_seconds(pid), harness.cpu_seconds(os.getpid())
        began = time.perf_counter()
        await asyncio.gather(*(worker(connection) for connection in connections))
        return Load(statuses, latencies, time.perf_counter() - began,
                    harness.tree_cpu_seconds(pid) - cpu_before,
                    harness.cpu_seconds(os.getpid()) - own_before, answers=answers)
    finally:
        for connection in connections:
            connection.close()


def _transactions(db: Database) -> int | None:
    """Transactions PostgreSQL has finished in this database (None on SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return None
    time.sleep(1.5)  # backends report their counts at most once a second
    with db.engine.connect() as connection:
        return int(connection.execute(sa.text(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()")).scalar_one())


def _settled_after(db: Database, taps_seconds: float) -> float:
    """Seconds from the first tap until the last claimed unit was paid for: winners are
    answered 202 once their unit is claimed, and paid for right after."""
    waited = time.perf_counter()
    while True:
        with db.read() as session:
            pending = session.scalar(sa.select(sa.func.count()).select_from(SalePurchase)
                                     .where(SalePurchase.status == "pending"))
        if not pending:
            return taps_seconds + time.perf_counter() - waited
        assert time.perf_counter() - waited < 120, f"{pending} purchases never settled"
        time.sleep(0.05)


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
                                .where(IdempotencyRecord.scope == CLAIM_STEP))
    result = {"sale_remaining": sale.remaining, "available": stock.available,
              "reserved": stock.reserved, "held": stock.held, "sold": stock.sold,
              "paid_lines": int(sold_lines or 0),
              "orders": int(orders or 0), "payments": int(payments or 0),
              "charged_twice": int(charged_twice or 0), "claims": int(claims or 0)}
    assert result["sale_remaining"] == 0, result
    assert (result["available"], result["reserved"], result["held"], result["sold"]) == (
        0, 0, 0, UNITS), result
    assert result["paid_lines"] == UNITS and result["orders"] == UNITS, result
    assert result["payments"] == result["orders"] and result["charged_twice"] == 0, result
    return result


def _start_sale(port: int, room: harness.LiveRoom) -> int:
    """The sale, started by the host; in a creator's own show, proposed to the shop,
    approved by its seller and then started (the shop's consent)."""
    terms = {"variant_id": room.variant_id, "prices": SALE_PRICE, "quantity": UNITS,
             "per_buyer_limit": 1, "duration_seconds": 600}
    api = f"http://127.0.0.1:{port}/api/v1"
    host = {"Authorization": f"Bearer {room.host_token}"}
    if room.seller_token is None:
        started = httpx.post(f"{api}/shows/{room.show_id}/sales", headers=host, json=terms,
                             timeout=30)
    else:
        proposed = httpx.post(f"{api}/shows/{room.show_id}/sale-proposals", json=terms,
                              headers={**host, "Idempotency-Key": uuid.uuid4().hex},
                              timeout=30)
        assert proposed.status_code == 201, proposed.text
        proposal_id = proposed.json()["id"]
        approved = httpx.post(f"{api}/sale-proposals/{proposal_id}/approve", timeout=30,
                              headers={"Authorization": f"Bearer {room.seller_token}"})
        assert approved.status_code == 200, approved.text
        started = httpx.post(f"{api}/shows/{room.show_id}/sale-proposals/{proposal_id}/start",
                             headers=host, timeout=30)
    assert started.status_code == 201, started.text
    return int(started.json()["id"])


def _commission_lines(db: Database, show_id: int, creator_id: int) -> int:
    """Paid lines of the show whose commission the creator earns, each posted."""
    with db.read() as session:
        return session.scalar(
            sa.select(sa.func.count()).select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .join(JournalEntryRow, sa.and_(
                JournalEntryRow.source_kind == LINE_PAID,
                JournalEntryRow.source_ref == sa.cast(OrderLine.id, sa.String)))
            .where(Order.show_id == show_id, OrderLine.creator_id == creator_id,
                   OrderLine.commission_bp > 0)) or 0


def run(url: str, label: str, folder: str, workers: int, redis_url: str | None,
        hosted_by_creator: bool = False) -> dict[str, float]:
    harness.migrate(url)
    db = Database(url)
    try:
        room = harness.make_live_show(db, stock=UNITS, hosted_by_creator=hosted_by_creator)
        buyers = make_buyers(db, 2 * BUYERS)
        # The second half taps after the sale sold out: late taps, refused from memory.
        tokens, late_tokens = buyers[:BUYERS], buyers[BUYERS:]
        port = harness.free_port()
        with harness.server(harness.uvicorn_app(port, workers),
                            harness.app_env(url, folder, redis_url), port) as process:
            sale_id = _start_sale(port, room)

            body = json.dumps({"variant_id": room.variant_id, "quantity": 1}).encode()

            def tap(token: str) -> Call:
                return Call("POST", f"/api/v1/shows/{room.show_id}/buy", {
                    "Authorization": f"Bearer {token}", "Accept-Language": "en-GB",
                    "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
                    body)

            host = "a creator's own show" if hosted_by_creator else "the seller's show"
            print(f"{label}: {BUYERS} buyers, {UNITS} units, {CONCURRENCY} in flight,"
                  f" {workers} app process(es), {host}", flush=True)
            baseline = uvloop.run(_load([Call("GET", "/api/v1/markets")] * BUYERS, port,
                                        process.pid))
            print(baseline.line("baseline GET /markets"), flush=True)
            transactions_before = _transactions(db)
            sale = uvloop.run(_load([tap(token) for token in tokens], port, process.pid))
            transactions_after = _transactions(db)
            print(sale.line("POST /buy (flash sale)"), flush=True)
            print(f"    by status: {sale.by_status()}", flush=True)
            paid_after = _settled_after(db, sale.seconds)
            print(f"  every winner paid {paid_after:.2f} s after the first tap", flush=True)
            late = uvloop.run(_load([tap(token) for token in late_tokens], port, process.pid))
            print(late.line("POST /buy (sold out)"), flush=True)
        assert late.statuses[409] == BUYERS, late.statuses
        assert sale.statuses[202] == UNITS, f"sold {sale.statuses[202]}, expected {UNITS}"
        assert sale.statuses[409] == BUYERS - UNITS, sale.statuses
        state = _check(db, sale_id, room.variant_id, room.show_id)
        if room.creator_id is not None:
            earning = _commission_lines(db, room.show_id, room.creator_id)
            print(f"  creator's commission posted on {earning} paid lines", flush=True)
            assert earning == UNITS, f"commission on {earning} lines, expected {UNITS}"
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
    options = harness.workers_option(__doc__)
    redis_url = options.redis_url
    harness.raise_fd_limit()
    print(machine.describe(), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.db", "SQLite", folder, options.workers, redis_url)
        with harness.fresh_postgres() as url:
            postgres = run(url, "PostgreSQL", folder, options.workers, redis_url)
    print(f"  target on PostgreSQL >= {TARGET_PER_SECOND} attempts/s:"
          f" {'PASS' if postgres['per_second'] >= TARGET_PER_SECOND else 'FAIL'}"
          f" ({postgres['per_second']:.0f}); p99 <= {TARGET_P99_MS} ms:"
          f" {'PASS' if postgres['p99_ms'] <= TARGET_P99_MS else 'FAIL'}"
          f" ({postgres['p99_ms']:.0f} ms)", flush=True)


if __name__ == "__main__":
    main()
