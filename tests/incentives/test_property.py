"""Property: over random sequences of purchases (with creators, bonus campaigns and voucher
use), partial refunds and fee changes in several currencies, the books hold together. Every
entry balances per currency; every account's balance in the database is the sum of its
postings; a creator never earns more than a line's net; the buyer never gets back more than
they paid; no incentive budget is ever overspent, and the platform's incentive expense in
the books never exceeds what the budgets spent. Budgets follow the incentive rules (the
database's conditional UPDATE of the same rule is tested under concurrency in
test_vouchers.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete

from liveshop.core.db import Database
from liveshop.core.errors import DomainError
from liveshop.creators.model import (
    MAX_FEE_BP,
    MIN_RATE_BP,
    PaidLine,
    line_paid_entry,
    line_refund_entry,
    split_line,
    split_refund,
)
from liveshop.incentives.model import (
    VoucherTerms,
    allocate,
    bonus_amount,
    bonus_bp_for,
    bonus_fits,
    check_voucher_use,
)
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey, JournalEntry
from liveshop.ledger.orm import JournalEntryRow, LedgerAccount, Posting
from liveshop.markets.model import MARKETS

NOW = datetime(2026, 12, 3, tzinfo=UTC)
MARKET_CODES = ("UK", "DE", "FR", "US")
CAMPAIGN_BP = 500
BONUS_BUDGET = 3_000
VOUCHER_BUDGET = 5_000

LINE = st.tuples(st.integers(0, 40_000), st.none() | st.integers(1, 3),
                 st.integers(MIN_RATE_BP, 8_000))
BUY = st.tuples(st.just("buy"), st.sampled_from(MARKET_CODES), st.integers(1, 3),
                st.lists(LINE, min_size=1, max_size=3), st.booleans())
REFUND = st.tuples(st.just("refund"), st.integers(0, 1000), st.integers(1, 1000))
FEE = st.tuples(st.just("fee"), st.sampled_from(MARKET_CODES), st.integers(0, MAX_FEE_BP))


@dataclass
class Budget:
    budget: int
    spent: int = 0


@dataclass
class World:
    fees: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MARKET_CODES, 500))
    bonuses: dict[str, Budget] = field(default_factory=lambda: {
        code: Budget(BONUS_BUDGET) for code in MARKET_CODES})
    vouchers: dict[str, VoucherTerms] = field(default_factory=lambda: {
        code: VoucherTerms(code, VOUCHER_BUDGET, NOW - timedelta(days=1),
                           NOW + timedelta(days=1), code=f"V-{code}",
                           amount_off=None if code == "DE" else 700,
                           percent_bp=1500 if code == "DE" else None, min_basket=1000,
                           per_buyer_limit=2) for code in MARKET_CODES})
    voucher_spent: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    uses: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    lines: list[PaidLine] = field(default_factory=list)
    refunded: list[int] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)

    def buy(self, market: str, buyer: int, wanted: list[tuple[int, int | None, int]],
            with_voucher: bool) -> None:
        basket = sum(total for total, _, _ in wanted)
        discount = 0
        if with_voucher:
            try:
                discount = check_voucher_use(
                    self.vouchers[market], market=market, basket=basket,
                    used_by_buyer=self.uses[market, buyer],
                    spent=self.voucher_spent[market], now=NOW).discount
            except DomainError:
                discount = 0
            self.voucher_spent[market] += discount
            self.uses[market, buyer] += 1 if discount else 0
        parts = allocate(discount, [total for total, _, _ in wanted])
        for (total, creator, rate), part in zip(wanted, parts, strict=True):
            line = PaidLine.priced(len(self.lines) + 1, 1 + len(self.lines) % 2, market, total,
                                   creator_id=creator, rate_bp=rate if creator else 0,
                                   fee_bp=self.fees[market], discount=part)
            if creator is not None:
                bonus_bp = bonus_bp_for(CAMPAIGN_BP, rate)
                amount = bonus_amount(line.net, bonus_bp)
                campaign = self.bonuses[market]
                if amount and bonus_fits(amount, campaign.spent, campaign.budget):
                    campaign.spent += amount
                    line = PaidLine.priced(line.line_id, line.shop_id, market, total,
                                           creator_id=creator, rate_bp=rate,
                                           bonus_bp=bonus_bp, fee_bp=line.fee_bp,
                                           discount=part)
            self.lines.append(line)
            self.refunded.append(0)
            self.entries.append(line_paid_entry(line))

    def refund(self, pick: int, per_mille: int) -> None:
        if not self.lines:
            return
        index = pick % len(self.lines)
        line = self.lines[index]
        amount = (line.paid - self.refunded[index]) * per_mille // 1000
        self.entries.append(line_refund_entry(line, len(self.entries) + 1,
                                              self.refunded[index], amount))
        self.refunded[index] += amount


@hypothesis_settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(BUY, REFUND, FEE), min_size=1, max_size=25))
def test_the_books_hold_and_no_budget_is_overspent(db: Database, steps: list[tuple]) -> None:
    with db.transaction() as session:  # each example starts with empty books
        for table in (Posting, JournalEntryRow, LedgerAccount):
            session.execute(delete(table))
    world = World()
    for step in steps:
        if step[0] == "buy":
            world.buy(*step[1:])
        elif step[0] == "refund":
            world.refund(*step[1:])
        else:
            world.fees[step[1]] = step[2]

    expected: dict[AccountKey, int] = defaultdict(int)
    for entry in world.entries:
        totals: dict[str, int] = defaultdict(int)
        for leg in entry.legs:
            totals[leg.account.currency] += leg.amount
            expected[leg.account] += leg.amount
        assert set(totals.values()) <= {0}, entry
    with db.transaction() as session:
        for entry in world.entries:
            ledger.post(session, entry)
    with db.read() as session:
        assert ledger.balances(session) == dict(expected)
        assert all(row.balanced for row in ledger.trial_balance(session))

    for line, refunded in zip(world.lines, world.refunded, strict=True):
        whole = split_line(line)
        assert whole.commission + whole.bonus <= whole.net
        back = split_refund(line, 0, refunded)
        assert back.commission <= whole.commission and back.bonus <= whole.bonus
        assert back.paid - back.discount <= line.paid - line.discount  # buyer's money
    for market in MARKET_CODES:
        assert world.bonuses[market].spent <= BONUS_BUDGET
        assert world.voucher_spent[market] <= VOUCHER_BUDGET
        expense = expected.get(AccountKey.incentive_expense(market, MARKETS[market].currency),
                               0)
        assert 0 <= expense <= world.bonuses[market].spent + world.voucher_spent[market]
