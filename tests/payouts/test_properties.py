"""Property (hypothesis): over random sequences of purchases in three currencies, deliveries,
partial refunds (before and after payouts) and payout runs as the clock moves on:

- every journal entry balances per currency, and so the books;
- every account's balance is the sum of its postings;
- no posting is paid twice, each statement pays exactly the sum of the postings it covers
  (and its entry says so), and after a run a payee's payable holds exactly what no
  statement covered: what is not yet available, or a negative balance carried;
- payouts in transit holds what the statements not yet marked paid owe.

Orders are written directly (the purchase flow has its own tests) and booked through the
same functions checkout and refunds call (liveshop/orders/commission.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from liveshop.accounts.orm import User
from liveshop.checkout.orm import Checkout
from liveshop.core.db import Database, utcnow
from liveshop.creators.orm import ShopCreator
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey, AccountKind, Owner
from liveshop.ledger.orm import JournalEntryRow, LedgerAccount, Posting
from liveshop.markets.model import MARKETS
from liveshop.orders import commission
from liveshop.orders.orm import Order, OrderLine
from liveshop.orders.payouts import run_payouts
from liveshop.payments.orm import Payment, Refund
from liveshop.payouts import service as payouts
from liveshop.payouts.model import PAYEE_KINDS, PayoutPolicy
from liveshop.payouts.orm import PayoutItem, PayoutStatement
from liveshop.payouts.provider import ManualPayouts
from tests.factories import VariantSpec, create_product, create_shop

POLICY = PayoutPolicy(hold_days=7)
PRICES = {"UK": 2400, "DE": 1999, "US": 1500}

buys = st.tuples(st.just("buy"), st.sampled_from(sorted(PRICES)), st.integers(1, 4),
                 st.booleans())
delivers = st.tuples(st.just("deliver"), st.integers(0, 30), st.integers(0, 3), st.just(False))
refunds = st.tuples(st.just("refund"), st.integers(0, 30), st.integers(1, 3), st.booleans())
runs = st.tuples(st.just("payout"), st.integers(0, 20), st.integers(0, 1), st.booleans())
steps = st.lists(st.one_of(buys, buys, delivers, delivers, refunds, runs, runs), max_size=14)


@dataclass
class World:
    db: Database
    shop_id: int
    variant_id: int
    buyer_id: int
    creator_id: int
    now: datetime | None = None
    orders: list[int] = field(default_factory=list)

    def buy(self, market: str, quantity: int, via_creator: bool) -> None:
        rules = MARKETS[market]
        price = PRICES[market]
        total = price * quantity
        tax = rules.tax_of(total)
        shipping = 399
        shipping_tax = rules.tax_of(shipping)
        with self.db.transaction() as session:
            checkout = Checkout(buyer_id=self.buyer_id, market=market, currency=rules.currency,
                                status="paid", subtotal=total, shipping=shipping,
                                tax=tax + shipping_tax, total=total + shipping, ship_to={})
            session.add(checkout)
            session.flush()
            order = Order(number=f"T-{uuid.uuid4().hex[:10]}", checkout_id=checkout.id,
                          buyer_id=self.buyer_id, shop_id=self.shop_id, market=market,
                          currency=rules.currency, status="paid",
                          tax_inclusive=rules.tax_inclusive, subtotal=total,
                          shipping=shipping, tax=tax + shipping_tax, total=total + shipping,
                          ship_to={}, paid_at=utcnow(),
                          show_id=1 if via_creator else None,
                          creator_id=self.creator_id if via_creator else None)
            order.lines = [OrderLine(variant_id=self.variant_id, product_title="Scarf",
                                     variant_title="", sku="S", quantity=quantity,
                                     unit_price=price, line_total=total, tax=tax)]
            session.add(order)
            session.add(Payment(checkout_id=checkout.id, amount=total + shipping,
                                currency=rules.currency, status="succeeded", provider="test",
                                provider_ref=uuid.uuid4().hex, last4="4242"))
            session.flush()
            commission.book_paid(session, order)
            self.orders.append(order.id)

    def deliver(self, pick: int, days_ago: int) -> None:
        if not self.orders:
            return
        with self.db.transaction() as session:
            order = session.get_one(Order, self.orders[pick % len(self.orders)])
            if order.delivered_at is None and order.status == "paid":
                order.status, order.delivered_at = "delivered", self.clock() - timedelta(
                    days=days_ago)

    def refund(self, pick: int, units: int, with_shipping: bool) -> None:
        if not self.orders:
            return
        with self.db.transaction() as session:
            order = session.get_one(Order, self.orders[pick % len(self.orders)])
            line = order.lines[0]
            left = line.quantity - line.refunded_quantity
            units = min(units, left)
            if units <= 0:
                return
            payment = session.scalars(select(Payment).where(
                Payment.checkout_id == order.checkout_id)).one()
            full = units == left
            refund = Refund(payment_id=payment.id, order_id=order.id, amount=0,
                            provider_ref=uuid.uuid4().hex)
            session.add(refund)
            session.flush()
            commission.book_refund(session, order, refund.id, {line.id: line.refunded_quantity},
                                   {line.id: units}, with_shipping=full and with_shipping)
            line.refunded_quantity += units

    def payout(self, advance_days: int, mark_paid: int) -> None:
        self.now = self.clock() + timedelta(days=advance_days)
        summary = run_payouts(self.db, POLICY, now=self.clock())
        if mark_paid and summary.statements:
            with self.db.transaction() as session:
                payouts.mark_paid(session, summary.statements[0].id, self.buyer_id,
                                  ManualPayouts(), "", self.clock())

    def clock(self) -> datetime:
        return self.now or utcnow()


def check_books(db: Database) -> None:
    with db.read() as session:
        # Every entry sums to zero per currency.
        off = session.execute(
            select(Posting.entry_id, LedgerAccount.currency, func.sum(Posting.amount))
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .group_by(Posting.entry_id, LedgerAccount.currency)
            .having(func.sum(Posting.amount) != 0)).all()
        assert off == []
        for totals in ledger.trial_balance(session):
            assert totals.balanced, totals
        # A balance is the sum of its postings.
        raw: dict[AccountKey, int] = defaultdict(int)
        for kind, owner, currency, amount in session.execute(
                select(LedgerAccount.kind, LedgerAccount.owner, LedgerAccount.currency,
                       Posting.amount).join(Posting, Posting.account_id == LedgerAccount.id)):
            raw[AccountKey(AccountKind(kind), Owner.parse(owner), currency)] += amount
        for account, total in ledger.balances(session).items():
            assert total == raw.get(account, 0) == ledger.balance(session, account)
        # No posting paid twice; a statement pays the sum of what it covers, as posted.
        assert session.scalar(select(func.count(PayoutItem.id))) == session.scalar(
            select(func.count(func.distinct(PayoutItem.posting_id))))
        for statement in session.scalars(select(PayoutStatement)):
            covered = session.scalar(select(func.sum(PayoutItem.amount)).where(
                PayoutItem.statement_id == statement.id))
            assert statement.amount == -(covered or 0) > 0
            assert statement.entry_id is not None
            sent = session.scalar(select(func.sum(Posting.amount)).where(
                Posting.entry_id == statement.entry_id, Posting.amount > 0))
            assert sent == statement.amount
        # What no statement covered is exactly what each payable still holds.
        uncovered: dict[int, int] = defaultdict(int)
        for account_id, amount in session.execute(
                select(Posting.account_id, Posting.amount)
                .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
                .join(JournalEntryRow, JournalEntryRow.id == Posting.entry_id)
                .where(LedgerAccount.kind.in_([k.value for k in PAYEE_KINDS]),
                       JournalEntryRow.source_kind != "payout_sent",
                       ~select(PayoutItem.id).where(PayoutItem.posting_id == Posting.id)
                       .exists())):
            uncovered[account_id] += amount
        for account_id, kind, owner, currency in session.execute(
                select(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.owner,
                       LedgerAccount.currency)
                .where(LedgerAccount.kind.in_([k.value for k in PAYEE_KINDS]))):
            key = AccountKey(AccountKind(kind), Owner.parse(owner), currency)
            assert ledger.balance(session, key) == uncovered.get(account_id, 0)
        # In transit: what the statements not marked paid owe.
        for currency in ("GBP", "EUR", "USD"):
            waiting = session.scalar(select(func.coalesce(func.sum(PayoutStatement.amount), 0))
                                     .where(PayoutStatement.currency == currency,
                                            PayoutStatement.status == "sent"))
            assert ledger.balance(session, AccountKey.payouts_in_transit(currency)) == -waiting


def test_purchases_refunds_and_payouts_keep_the_books_and_pay_nobody_twice(
        db: Database) -> None:
    with db.transaction() as session:
        users = [User(email=f"p-{i}-{uuid.uuid4().hex[:6]}@example.com",
                      display_name=f"P{i}", password_hash="x") for i in range(3)]
        session.add_all(users)
        session.flush()
        seller_id, buyer_id, creator_id = (user.id for user in users)
    shop_id = create_shop(db, seller_id, {"UK": 399, "DE": 399, "US": 399})
    _, (variant_id,) = create_product(db, shop_id, [VariantSpec(prices=PRICES, stock=0)])
    with db.transaction() as session:
        session.add(ShopCreator(shop_id=shop_id, creator_id=creator_id, commission_bp=1500))

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(steps)
    def sequence(ops: list[tuple[str, object, int, bool]]) -> None:
        world = World(db, shop_id, variant_id, buyer_id, creator_id)
        for op, a, b, flag in ops:
            if op == "buy":
                world.buy(str(a), b, flag)
            elif op == "deliver":
                world.deliver(b, int(str(a)))
            elif op == "refund":
                world.refund(int(str(a)), b, flag)
            else:
                world.payout(int(str(a)), b)
        # Everything delivered long ago, paid out twice over: the second pays nothing.
        world.payout(60, 0)
        again = run_payouts(db, POLICY, now=world.clock())
        assert again.statements == []
        check_books(db)

    sequence()
    with db.read() as session:  # the sequences did reach payouts, clawbacks included
        assert session.scalar(select(func.count(PayoutStatement.id)))
        assert session.scalar(select(func.count(PayoutItem.id)).where(
            PayoutItem.source_kind == "order_line_refunded"))
