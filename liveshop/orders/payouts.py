"""The payout run: every seller's shop and creator is paid, per currency, what their orders
made available (``liveshop payouts run``, the back office's button).

Orders know when money becomes available (delivery, the market's withdrawal period), so
the run's query lives here; statements, their entries and who may read them are
liveshop/payouts/. One transaction per payee account: a payee's statement and its
``payout_sent`` entry commit together, and a run stopped half-way leaves the payees it
reached paid and the others for the next run.

Memory: the postings a statement covers are copied in the database (INSERT ... SELECT, see
``payouts.service.sweep``), never loaded; the run holds only the list of payee account ids.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, literal, null, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect
from sqlalchemy.sql.elements import ColumnElement

from liveshop.core.db import Database, utcnow
from liveshop.creators.model import LINE_PAID, LINE_REFUNDED, SHIPPING_PAID, SHIPPING_REFUNDED
from liveshop.ledger.model import AccountKey, AccountKind, Owner, OwnerKind
from liveshop.ledger.orm import JournalEntryRow, LedgerAccount, Posting
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.orm import Refund
from liveshop.payouts import service as payouts
from liveshop.payouts.model import PAYEE_KINDS, PAYOUT_SENT, PayoutPolicy
from liveshop.payouts.orm import PayoutItem
from liveshop.payouts.schemas import RunSummary, StatementView


def run_payouts(db: Database, policy: PayoutPolicy, now: datetime | None = None
                ) -> RunSummary:
    """Make a statement for every payee account with available money. Running it again
    pays nothing twice: a posting once swept is never available again; two runs at once
    take turns per account (``payouts.service.sweep``)."""
    now = now or utcnow()
    with db.read() as session:
        accounts = _accounts_with_unswept_postings(session)
    made: list[StatementView] = []
    carried = 0
    totals: dict[str, int] = defaultdict(int)
    for account_id, account in accounts:
        with db.transaction() as session:
            swept = payouts.sweep(session, account, account_id,
                                  available_postings(account, account_id, policy, now), now)
            if swept.statement is not None:
                made.append(swept.statement)
                totals[account.currency] += swept.statement.amount
            elif swept.postings:
                carried += 1
    return RunSummary(as_of=now, statements=made, carried=carried, totals=dict(totals))


def _accounts_with_unswept_postings(session: Session) -> list[tuple[int, AccountKey]]:
    """The payee accounts with a posting no statement covers yet (a payee paid up to date
    costs the run nothing), in id order: one query, a row per account."""
    unswept = ~exists().where(PayoutItem.posting_id == Posting.id)
    rows = session.execute(
        select(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.owner,
               LedgerAccount.currency)
        .where(LedgerAccount.kind.in_([kind.value for kind in PAYEE_KINDS]),
               exists().where(Posting.account_id == LedgerAccount.id,
                              JournalEntryRow.id == Posting.entry_id,
                              JournalEntryRow.source_kind != PAYOUT_SENT, unswept))
        .order_by(LedgerAccount.id))
    return [(row.id, AccountKey(AccountKind(row.kind), Owner.parse(row.owner), row.currency))
            for row in rows]


def available_postings(account: AccountKey, account_id: int, policy: PayoutPolicy,
                       now: datetime) -> CompoundSelect:
    """The account's postings not swept before whose order's money is available ``now``,
    as ``payouts.service.ITEM_COLUMNS``: its lines' payments and refunds, and its shipping.
    Entries name their source by id (``creators.model``), so each kind is joined on the
    source key it was posted under."""
    delivered = or_(*(and_(Order.market == market, Order.delivered_at <= cutoff)
                      for market, cutoff in policy.cutoffs(now).items()))
    unswept = ~exists().where(PayoutItem.posting_id == Posting.id)
    mine = _orders_of(account)
    title = OrderLine.product_title + literal(" ") + OrderLine.variant_title
    posting = (Posting.id.label("posting_id"), Posting.entry_id, JournalEntryRow.source_kind,
               JournalEntryRow.source_ref, Posting.amount, Order.id.label("order_id"))
    after = (Order.number.label("order_number"),)

    to_account = and_(Posting.entry_id == JournalEntryRow.id, Posting.account_id == account_id)

    lines = (select(*posting, OrderLine.id.label("order_line_id"), *after,
                    title.label("description"), Order.delivered_at)
             .select_from(Order).join(OrderLine, OrderLine.order_id == Order.id)
             .join(JournalEntryRow, and_(JournalEntryRow.source_kind == LINE_PAID,
                                         JournalEntryRow.source_ref == cast(OrderLine.id,
                                                                            String)))
             .join(Posting, to_account)
             .where(delivered, unswept, mine))
    refund_ref = cast(Refund.id, String) + literal(":") + cast(OrderLine.id, String)
    refunds = (select(*posting, OrderLine.id.label("order_line_id"), *after,
                      title.label("description"), Order.delivered_at)
               .select_from(Order).join(OrderLine, OrderLine.order_id == Order.id)
               .join(Refund, Refund.order_id == Order.id)
               .join(JournalEntryRow, and_(JournalEntryRow.source_kind == LINE_REFUNDED,
                                           JournalEntryRow.source_ref == refund_ref))
               .join(Posting, to_account)
               .where(delivered, unswept, mine))
    shipping = (select(*posting, null().label("order_line_id"), *after,
                       literal("Shipping").label("description"), Order.delivered_at)
                .select_from(Order)
                .join(JournalEntryRow, and_(
                    JournalEntryRow.source_kind.in_([SHIPPING_PAID, SHIPPING_REFUNDED]),
                    JournalEntryRow.source_ref == cast(Order.id, String)))
                .join(Posting, to_account)
                .where(delivered, unswept, _orders_of(account, lines=False)))
    return union_all(lines, refunds, shipping)


def _orders_of(account: AccountKey, lines: bool = True) -> ColumnElement[bool]:
    """Only the payee's orders are looked at: a shop's own, or the lines a creator earns
    on (the database then never matches the whole order table against the postings)."""
    if account.owner.kind is OwnerKind.SHOP:
        return Order.shop_id == int(account.owner.ref)
    if lines:
        return OrderLine.creator_id == int(account.owner.ref)
    return Order.creator_id == int(account.owner.ref)
