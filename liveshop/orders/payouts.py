"""The payout run: every seller's shop and creator is paid, per currency, what their orders
made available (``liveshop payouts run``, the back office's button).

Orders know when money becomes available (delivery, the market's withdrawal period), so
the run's query lives here; statements, their entries and who may read them are
liveshop/payouts/. One transaction per run: every statement and its ``payout_sent`` entry
commit together, or none (a run stopped half-way pays nobody, and the next run pays all).

Memory: the postings a statement covers are copied in the database (INSERT ... SELECT, see
``payouts.service.sweep``), never loaded; the run holds one row per payee, never per line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, literal, null, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect

from liveshop.core.db import Database, utcnow
from liveshop.creators.model import LINE_PAID, LINE_REFUNDED, SHIPPING_PAID, SHIPPING_REFUNDED
from liveshop.ledger.model import AccountKey, AccountKind, Owner
from liveshop.ledger.orm import JournalEntryRow, LedgerAccount, Posting
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.orm import Refund
from liveshop.payouts import service as payouts
from liveshop.payouts.model import PAYEE_KINDS, PAYOUT_SENT, PayoutPolicy
from liveshop.payouts.orm import PayoutItem, PayoutStatement
from liveshop.payouts.schemas import RunSummary


def run_payouts(db: Database, policy: PayoutPolicy, now: datetime | None = None
                ) -> RunSummary:
    """Make a statement for every payee account with available money. Running it again
    pays nothing twice: a posting once swept is never available again; two runs at once
    take turns (``payouts.service.sweep`` locks the payees' accounts)."""
    now = now or utcnow()
    with db.transaction() as session:
        accounts = _accounts_with_unswept_postings(session)
        swept = payouts.sweep(session, accounts,
                              lambda statements: available_postings(statements, policy, now),
                              now)
    totals: dict[str, int] = defaultdict(int)
    for statement in swept.statements:
        totals[statement.currency] += statement.amount
    return RunSummary(as_of=now, statements=swept.statements, carried=swept.carried,
                      totals=dict(totals))


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


def available_postings(statement_ids: Sequence[int], policy: PayoutPolicy, now: datetime
                       ) -> CompoundSelect:
    """For the statements just opened (one per payee account), the postings to their
    accounts not swept before whose order's money is available ``now``, as
    ``payouts.service.ITEM_COLUMNS``: orders' lines, their refunds, and their shipping.
    Entries name their source by id (``creators.model``), so each kind is joined on the
    source key it was posted under; one pass over the tables for every payee at once (hash
    joins), not a query per payee."""
    delivered = or_(*(and_(Order.market == market, Order.delivered_at <= cutoff)
                      for market, cutoff in policy.cutoffs(now).items()))
    unswept = ~exists().where(PayoutItem.posting_id == Posting.id)
    title = OrderLine.product_title + literal(" ") + OrderLine.variant_title
    posting = (PayoutStatement.id.label("statement_id"), Posting.id.label("posting_id"),
               Posting.entry_id, JournalEntryRow.source_kind, JournalEntryRow.source_ref,
               Posting.amount, Order.id.label("order_id"))
    paid_to = Posting.entry_id == JournalEntryRow.id
    statement = and_(PayoutStatement.account_id == Posting.account_id,
                     PayoutStatement.id.in_(statement_ids))

    lines = (select(*posting, OrderLine.id.label("order_line_id"),
                    Order.number.label("order_number"), title.label("description"),
                    Order.delivered_at)
             .select_from(Order).join(OrderLine, OrderLine.order_id == Order.id)
             .join(JournalEntryRow, and_(JournalEntryRow.source_kind == LINE_PAID,
                                         JournalEntryRow.source_ref == cast(OrderLine.id,
                                                                            String)))
             .join(Posting, paid_to).join(PayoutStatement, statement)
             .where(delivered, unswept))
    refund_ref = cast(Refund.id, String) + literal(":") + cast(OrderLine.id, String)
    refunds = (select(*posting, OrderLine.id.label("order_line_id"),
                      Order.number.label("order_number"), title.label("description"),
                      Order.delivered_at)
               .select_from(Order).join(OrderLine, OrderLine.order_id == Order.id)
               .join(Refund, Refund.order_id == Order.id)
               .join(JournalEntryRow, and_(JournalEntryRow.source_kind == LINE_REFUNDED,
                                           JournalEntryRow.source_ref == refund_ref))
               .join(Posting, paid_to).join(PayoutStatement, statement)
               .where(delivered, unswept))
    shipping = (select(*posting, null().label("order_line_id"),
                       Order.number.label("order_number"), literal("Shipping").label(
                           "description"), Order.delivered_at)
                .select_from(Order)
                .join(JournalEntryRow, and_(
                    JournalEntryRow.source_kind.in_([SHIPPING_PAID, SHIPPING_REFUNDED]),
                    JournalEntryRow.source_ref == cast(Order.id, String)))
                .join(Posting, paid_to).join(PayoutStatement, statement)
                .where(delivered, unswept))
    return union_all(lines, refunds, shipping)
