"""The payout run over 100,000 paid, delivered order lines on PostgreSQL.

Builds the data straight into a fresh database (COPY, not the HTTP API: the purchase flow
has its own benchmark): 100 shops, 50 creators, 25,000 UK orders of 4 lines delivered 20
days ago (past the 14-day withdrawal period), half of them sold through a creator, each
line's and order's shipping entry posted as checkout would (``line_paid_entry``). Then:

- baseline: load every posting to a payee's account into Python, as a run that is not
  streamed would (time, and the memory that costs);
- ``run_payouts``: time, Python's peak allocation while it runs (tracemalloc) and the
  process's peak RSS before and after;
- a second run (pays nothing: the idempotent re-run's cost).

It checks that every payee got one statement and that the statements pay exactly what the
payables held. ``python -m bench.payouts [--lines N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

from bench import machine
from bench.harness import fresh_postgres, migrate
from liveshop.accounts.orm import User
from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.core.db import Database, utcnow
from liveshop.creators.model import PaidLine, line_paid_entry, shipping_paid_entry
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey, JournalEntry
from liveshop.ledger.orm import LedgerAccount, Posting
from liveshop.markets.model import MARKETS
from liveshop.orders.payouts import run_payouts
from liveshop.payouts.model import PAYEE_KINDS, PayoutPolicy
from liveshop.payouts.orm import PayoutStatement

T = TypeVar("T")
LINES = 100_000
LINES_PER_ORDER = 4
SHOPS = 100
CREATORS = 50
PRICE = 2400
SHIPPING = 399
UK = MARKETS["UK"]


def _copy(connection: sa.Connection, table: str, columns: Sequence[str],
          rows: Iterable[Sequence[object]]) -> None:
    """COPY rows into a table through psycopg, 10,000 at a time."""
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _people_and_shops(db: Database) -> tuple[int, list[int], list[int], list[int]]:
    with db.transaction() as session:
        def person(name: str) -> User:
            user = User(email=f"{name}-{uuid.uuid4().hex[:8]}@bench", display_name=name,
                        password_hash="x")
            session.add(user)
            return user

        buyer = person("buyer")
        sellers = [person(f"seller{i}") for i in range(SHOPS)]
        creators = [person(f"creator{i}") for i in range(CREATORS)]
        session.flush()
        shops = [Shop(owner_id=seller.id, name=f"Shop {i}", slug=f"s{i}-{uuid.uuid4().hex[:6]}")
                 for i, seller in enumerate(sellers)]
        session.add_all(shops)
        session.flush()
        variants = []
        for shop in shops:
            product = Product(shop_id=shop.id, title="Scarf", status="active")
            session.add(product)
            session.flush()
            variant = Variant(product_id=product.id, shop_id=shop.id,
                              sku=uuid.uuid4().hex[:12])
            session.add(variant)
            session.flush()
            variants.append(variant.id)
        return buyer.id, [shop.id for shop in shops], [c.id for c in creators], variants


def build(db: Database, lines: int) -> None:
    buyer_id, shop_ids, creator_ids, variant_ids = _people_and_shops(db)
    orders = lines // LINES_PER_ORDER
    delivered = utcnow() - timedelta(days=20)
    tax = UK.tax_of(PRICE)
    shipping_tax = UK.tax_of(SHIPPING)
    keys = {AccountKey.cash("GBP"), AccountKey.vat_payable("UK", "GBP"),
            AccountKey.platform_fee_revenue("UK", "GBP")}
    keys |= {AccountKey.seller_payable(shop_id, "GBP") for shop_id in shop_ids}
    keys |= {AccountKey.creator_payable(creator_id, "GBP") for creator_id in creator_ids}
    with db.transaction() as session:
        account_of = ledger.account_ids(session, keys)

    def order_rows() -> Iterable[tuple[object, ...]]:
        for n in range(1, orders + 1):
            shop = shop_ids[n % SHOPS]
            creator = creator_ids[(n // 2) % CREATORS] if n % 2 else None
            subtotal = PRICE * LINES_PER_ORDER
            yield (n, f"B{n:09d}", n, buyer_id, shop, "UK", "GBP", "delivered", True, subtotal,
                   SHIPPING, tax * LINES_PER_ORDER + shipping_tax, subtotal + SHIPPING, 0,
                   "{}", delivered, delivered, delivered, delivered, creator,
                   n if creator else None)

    def line_rows() -> Iterable[tuple[object, ...]]:
        for n in range(1, orders + 1):
            creator = creator_ids[(n // 2) % CREATORS] if n % 2 else None
            for k in range(LINES_PER_ORDER):
                yield ((n - 1) * LINES_PER_ORDER + k + 1, n, variant_ids[n % SHOPS], "Scarf",
                       "Blue", "SKU", 1, PRICE, PRICE, tax, 0, creator,
                       1000 if creator else 0, 0, 500)

    entries: list[tuple[object, ...]] = []
    postings: list[tuple[object, ...]] = []

    def add(entry_id: int, journal: JournalEntry) -> None:
        entries.append((entry_id, journal.source.kind, journal.source.ref, journal.memo,
                        delivered))
        for leg in journal.legs:
            postings.append((len(postings) + 1, entry_id, account_of[leg.account], leg.amount))

    started = time.perf_counter()
    with db.engine.begin() as connection:
        _copy(connection, "checkouts", ("id", "buyer_id", "market", "currency", "status",
                                        "source", "subtotal", "shipping", "tax", "total",
                                        "ship_to", "created_at"),
              ((n, buyer_id, "UK", "GBP", "paid", "cart", PRICE * LINES_PER_ORDER, SHIPPING,
                0, PRICE * LINES_PER_ORDER + SHIPPING, "{}", delivered)
               for n in range(1, orders + 1)))
        _copy(connection, "orders", (
            "id", "number", "checkout_id", "buyer_id", "shop_id", "market", "currency",
            "status", "tax_inclusive", "subtotal", "shipping", "tax", "total",
            "refunded_amount", "ship_to", "created_at", "paid_at", "shipped_at",
            "delivered_at", "creator_id", "show_id"), order_rows())
        _copy(connection, "order_lines", (
            "id", "order_id", "variant_id", "product_title", "variant_title", "sku",
            "quantity", "unit_price", "line_total", "tax", "refunded_quantity", "creator_id",
            "commission_bp", "bonus_bp", "fee_bp"), line_rows())
        entry_id = 0
        for n in range(1, orders + 1):
            shop = shop_ids[n % SHOPS]
            creator = creator_ids[(n // 2) % CREATORS] if n % 2 else None
            for k in range(LINES_PER_ORDER):
                entry_id += 1
                add(entry_id, line_paid_entry(PaidLine(
                    (n - 1) * LINES_PER_ORDER + k + 1, shop, "UK", PRICE, tax, creator,
                    1000 if creator else 0, 0, 500)))
            entry_id += 1
            add(entry_id, shipping_paid_entry(n, shop, "UK", SHIPPING, shipping_tax))
        _copy(connection, "ledger_entries",
              ("id", "source_kind", "source_ref", "memo", "posted_at"), entries)
        _copy(connection, "ledger_postings", ("id", "entry_id", "account_id", "amount"),
              postings)
        for table in ("checkouts", "orders", "order_lines", "ledger_entries",
                      "ledger_postings"):
            connection.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))
        connection.execute(sa.text("ANALYZE"))
    print(f"  built {orders * LINES_PER_ORDER:,} lines in {orders:,} orders, "
          f"{len(entries):,} entries, {len(postings):,} postings "
          f"in {time.perf_counter() - started:.1f} s", flush=True)


def _payable_postings(db: Database) -> list[tuple[int, int]]:
    with db.read() as session:
        return [(row.account_id, row.amount) for row in session.execute(
            sa.select(Posting.account_id, Posting.amount, Posting.entry_id, Posting.id)
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .where(LedgerAccount.kind.in_([kind.value for kind in PAYEE_KINDS])))]


def _high_water_kib() -> int:
    """This process's peak RSS (``VmHWM``). Not ``ru_maxrss``: that survives ``exec``, so a
    child would start with its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure(url: str, what: str) -> None:
    """In a fresh process (``--measure``): do one thing, print its time and the process's
    peak RSS, so neither the data built nor the other measurement counts."""
    db = Database(url)
    rss_start = _high_water_kib()
    started = time.perf_counter()
    if what == "baseline":
        count = len(_payable_postings(db))
    else:
        count = sum(s.line_count for s in run_payouts(db, PayoutPolicy()).statements)
    elapsed = time.perf_counter() - started
    rss_peak = _high_water_kib()
    db.dispose()
    print(json.dumps({"seconds": elapsed, "rss_start_mib": rss_start / 1024,
                      "rss_peak_mib": rss_peak / 1024, "count": count}))


def _measured(url: str, label: str, what: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "bench.payouts", "--measure", what,
                           "--url", url], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {label:<40} {result['seconds']:7.2f} s  peak RSS {result['rss_peak_mib']:6.0f}"
          f" MiB (+{result['rss_peak_mib'] - result['rss_start_mib']:.0f} MiB over the "
          f"process at start)", flush=True)
    return result


def run(url: str, lines: int) -> None:
    migrate(url)
    db = Database(url)
    try:
        build(db, lines)
        with db.read() as session:
            owed = -sum(total for kind in PAYEE_KINDS
                        for total in ledger.balances(session, kind=kind).values())
        baseline = _measured(url, "baseline: load every payable posting", "baseline")
        measured = _measured(url, "payout run (statements for every payee)", "run")
        again = _measured(url, "payout run again (pays nothing)", "run")
        assert measured["count"] == baseline["count"] and again["count"] == 0
        with db.read() as session:
            statements = session.execute(sa.select(
                sa.func.count(PayoutStatement.id), sa.func.sum(PayoutStatement.amount))).one()
            assert statements[0] == SHOPS + CREATORS, statements
            assert statements[1] == owed, (statements, owed)
            left = {str(key): total for kind in PAYEE_KINDS
                    for key, total in ledger.balances(session, kind=kind).items() if total}
            assert not left, left  # every payable settled
            assert all(totals.balanced for totals in ledger.trial_balance(session))
        grown = measured["rss_peak_mib"] - measured["rss_start_mib"]
        loaded = baseline["rss_peak_mib"] - baseline["rss_start_mib"]
        print(f"  {statements[0]} statements covering {int(measured['count']):,} postings, "
              f"{owed / 100:,.2f} GBP; {measured['count'] / measured['seconds']:,.0f} "
              f"postings/s; the run grew its process by {grown:.0f} MiB, loading the "
              f"postings by {loaded:.0f} MiB", flush=True)
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--measure", choices=("baseline", "run"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.measure:
        _measure(args.url, args.measure)
        return
    print(machine.describe(), flush=True)
    with fresh_postgres() as url:
        print(f"PostgreSQL: payout run over {args.lines:,} paid, delivered order lines",
              flush=True)
        run(url, args.lines)


if __name__ == "__main__":
    main(sys.argv[1:])
