"""Posting to the books on SQLite and PostgreSQL: once per source, even from two threads at
once; balances summed from postings; a trial balance of zero in every currency."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError

from liveshop.core.db import Database
from liveshop.core.errors import Conflict
from liveshop.creators.model import (
    MAX_FEE_BP,
    MAX_RATE_BP,
    MIN_RATE_BP,
    PaidLine,
    line_paid_entry,
    line_refund_entry,
    shipping_paid_entry,
)
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey, JournalEntry, SourceKey, entry
from liveshop.ledger.orm import JournalEntryRow, LedgerAccount, Posting
from liveshop.markets.model import MARKETS

UK_LINE = PaidLine.priced(1, shop_id=7, market="UK", line_total=2400, creator_id=20,
                          rate_bp=1000)


def count(db: Database, table: type[JournalEntryRow] | type[Posting]) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_posting_a_source_twice_posts_it_once(db: Database) -> None:
    with db.transaction() as session:
        first = ledger.post(session, line_paid_entry(UK_LINE))
    with db.transaction() as session:
        again = ledger.post(session, line_paid_entry(UK_LINE))
        # Within one transaction too.
        third = ledger.post(session, line_paid_entry(UK_LINE))
    assert first.new and not again.new and not third.new
    assert first.entry_id == again.entry_id == third.entry_id
    assert count(db, JournalEntryRow) == 1
    assert count(db, Posting) == len(line_paid_entry(UK_LINE).legs)
    with db.read() as session:
        assert ledger.balance(session, AccountKey.seller_payable(7, "GBP")) == -1700
        assert ledger.entry_of(session, line_paid_entry(UK_LINE).source) == \
            line_paid_entry(UK_LINE)


def test_the_same_source_with_other_amounts_is_refused(db: Database) -> None:
    with db.transaction() as session:
        ledger.post(session, line_paid_entry(UK_LINE))
    changed = PaidLine.priced(1, shop_id=7, market="UK", line_total=2400, creator_id=20,
                              rate_bp=2000)
    with pytest.raises(Conflict) as refused, db.transaction() as session:
        ledger.post(session, line_paid_entry(changed))
    assert refused.value.code == "ledger_source_reused"
    assert count(db, JournalEntryRow) == 1


def test_two_threads_posting_one_source_while_the_first_is_uncommitted_post_it_once(
        db: Database) -> None:
    first_posted = threading.Event()

    def first() -> bool:
        with db.transaction() as session:
            posted = ledger.post(session, line_paid_entry(UK_LINE))
            first_posted.set()
            time.sleep(0.3)  # the second posts meanwhile, against an uncommitted entry
        return posted.new

    def second() -> bool:
        assert first_posted.wait(10)
        with db.transaction() as session:
            return ledger.post(session, line_paid_entry(UK_LINE)).new

    with ThreadPoolExecutor(2) as pool:
        results = [pool.submit(first), pool.submit(second)]
        assert [result.result(timeout=30) for result in results] == [True, False]
    assert count(db, JournalEntryRow) == 1
    assert count(db, Posting) == len(line_paid_entry(UK_LINE).legs)


def test_threads_posting_one_source_at_the_same_moment_post_it_once(db: Database) -> None:
    start = threading.Barrier(4)

    def post() -> bool:
        start.wait(10)
        with db.transaction() as session:
            return ledger.post(session, line_paid_entry(UK_LINE)).new

    with ThreadPoolExecutor(4) as pool:
        results = [pool.submit(post) for _ in range(4)]
        assert sorted(result.result(timeout=60) for result in results) == [
            False, False, False, True]
    assert count(db, JournalEntryRow) == 1
    with db.read() as session:
        assert ledger.balance(session, AccountKey.cash("GBP")) == 2400
        # The accounts the four made concurrently exist once each.
        assert session.scalar(select(func.count()).select_from(LedgerAccount)) == 5


def test_the_trial_balance_is_zero_in_every_currency(db: Database) -> None:
    with db.transaction() as session:
        ledger.post(session, line_paid_entry(UK_LINE))
        ledger.post(session, line_paid_entry(
            PaidLine.priced(2, shop_id=8, market="DE", line_total=5997, creator_id=21,
                            rate_bp=1200, bonus_bp=300)))
        ledger.post(session, line_paid_entry(PaidLine.priced(3, 9, "US", 1999)))
        ledger.post(session, shipping_paid_entry(4, 8, "FR", 590, MARKETS["FR"].tax_of(590)))
        ledger.post(session, line_refund_entry(UK_LINE, 1, 0, 1200))
        ledger.post(session, entry(SourceKey("empty", "1"), []))  # nothing to move
    totals = ledger.trial_balance_of(db)
    assert [row.currency for row in totals] == ["EUR", "GBP", "USD"]
    assert all(row.balanced and row.debits > 0 for row in totals)
    with db.read() as session:
        assert sum(ledger.balances(session, currency="GBP").values()) == 0
        assert ledger.balance(session, AccountKey.cash("GBP")) == 2400 - 1200
        assert ledger.balance(session, AccountKey.creator_payable(20, "GBP")) == -100
        assert ledger.balance(session, AccountKey.creator_payable(99, "GBP")) == 0


def test_the_database_itself_refuses_a_second_entry_for_a_source(db: Database) -> None:
    """Not only ``post``'s check: a writer that skipped it is stopped by the unique index."""
    with db.transaction() as session:
        ledger.post(session, line_paid_entry(UK_LINE))
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(JournalEntryRow(source_kind="order_line_paid", source_ref="1"))
        session.flush()


def test_a_posting_of_zero_is_refused_by_the_database(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as session:
        posted = ledger.post(session, entry(SourceKey("t", "1"), [
            (AccountKey.cash("GBP"), 5), (AccountKey.seller_payable(1, "GBP"), -5)]))
        account = ledger.account_ids(session, [AccountKey.cash("GBP")])
        session.execute(insert(Posting).values(
            entry_id=posted.entry_id, account_id=account[AccountKey.cash("GBP")], amount=0))


LINE = st.tuples(st.sampled_from(sorted(MARKETS)), st.integers(0, 10**7),
                 st.none() | st.integers(1, 3), st.integers(MIN_RATE_BP, MAX_RATE_BP),
                 st.integers(0, MAX_FEE_BP))
REFUND = st.tuples(st.integers(0, 100), st.integers(1, 1000))


@hypothesis_settings(max_examples=15, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
@given(lines=st.lists(LINE, min_size=1, max_size=8), refunds=st.lists(REFUND, max_size=8),
       reruns=st.lists(st.integers(0, 100), max_size=4))
def test_balances_are_the_sums_of_the_postings_of_what_was_posted(
        db: Database, lines: list[tuple[str, int, int | None, int, int]],
        refunds: list[tuple[int, int]], reruns: list[int]) -> None:
    with db.transaction() as session:  # each example starts with empty books
        for table in (Posting, JournalEntryRow, LedgerAccount):
            session.execute(delete(table))
    paid = [PaidLine.priced(number, number % 3 + 1, market, total, creator_id=creator,
                            rate_bp=rate if creator else 0, fee_bp=fee)
            for number, (market, total, creator, rate, fee) in enumerate(lines, start=1)]
    entries: list[JournalEntry] = [line_paid_entry(line) for line in paid]
    refunded = [0] * len(paid)
    for refund_id, (pick, per_mille) in enumerate(refunds, start=1):
        index = pick % len(paid)
        amount = (paid[index].paid - refunded[index]) * per_mille // 1000
        entries.append(line_refund_entry(paid[index], refund_id, refunded[index], amount))
        refunded[index] += amount
    # A durable queue re-running some postings: they post nothing.
    replayed = entries + [entries[pick % len(entries)] for pick in reruns]
    with db.transaction() as session:
        for journal_entry in replayed:
            ledger.post(session, journal_entry)

    expected: dict[AccountKey, int] = defaultdict(int)
    for journal_entry in entries:
        for leg in journal_entry.legs:
            expected[leg.account] += leg.amount
    with db.read() as session:
        stored = ledger.balances(session)
        assert stored == dict(expected)
        assert all(ledger.balance(session, account) == total
                   for account, total in expected.items())
        assert all(row.balanced for row in ledger.trial_balance(session))
        assert session.scalar(select(func.count()).select_from(JournalEntryRow)) == len(
            entries)


def test_post_many_posts_each_source_once_in_a_few_statements(db: Database) -> None:
    """A paid order's entries together: each posted once (a source posted before is
    skipped, and checked), in four statements however many entries."""
    second = PaidLine.priced(2, shop_id=7, market="UK", line_total=1200, creator_id=20,
                             rate_bp=1500)
    shipping = shipping_paid_entry(5, 7, "UK", 399, 67)
    with db.transaction() as session:
        ledger.post(session, line_paid_entry(UK_LINE))  # posted before
    statements: list[str] = []

    def heard(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    with db.transaction() as session:
        engine = session.get_bind()
        sa_event.listen(engine, "before_cursor_execute", heard)
        try:
            posted = ledger.post_many(session, [line_paid_entry(UK_LINE),
                                                line_paid_entry(second), shipping])
        finally:
            sa_event.remove(engine, "before_cursor_execute", heard)
    assert [result.new for result in posted] == [False, True, True]
    assert count(db, JournalEntryRow) == 3
    assert count(db, Posting) == sum(len(e.legs) for e in (
        line_paid_entry(UK_LINE), line_paid_entry(second), shipping))
    # Insert entries, upsert and read accounts, insert postings; then the one posted
    # before is read back and compared (2).
    assert len(statements) <= 6, statements
    with db.read() as session:
        assert ledger.balance(session, AccountKey.creator_payable(20, "GBP")) == -200 - 150
        for totals in ledger.trial_balance(session):
            assert totals.debits == totals.credits

    changed = PaidLine.priced(2, shop_id=7, market="UK", line_total=1200, creator_id=20,
                              rate_bp=2000)
    with pytest.raises(Conflict) as refused, db.transaction() as session:
        ledger.post_many(session, [line_paid_entry(changed)])
    assert refused.value.code == "ledger_source_reused"
