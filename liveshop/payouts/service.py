"""Payout statements: making one from a payee's available postings (a building block of the
payout run, liveshop/orders/payouts.py), marking it paid, and reading them back, each
payee only their own.

Who may see a statement: its creator, the owner of its shop, and admins.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect, Select

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Shop
from liveshop.core.config import Settings
from liveshop.core.db import Database, refresh_statistics
from liveshop.core.errors import Forbidden, NotFound
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey, Owner, OwnerKind, SourceKey
from liveshop.ledger.orm import LedgerAccount
from liveshop.payouts.model import (
    CSV_HEADER,
    PayoutPolicy,
    StatementLine,
    StatementStatus,
    csv_row,
    payout_amount,
    payout_paid_entry,
    payout_sent_entry,
)
from liveshop.payouts.orm import PayoutItem, PayoutStatement
from liveshop.payouts.provider import PayoutOrder, PayoutProvider
from liveshop.payouts.schemas import StatementView

# The columns of ``payout_items`` a run's query selects, in this order (``sweep``).
ITEM_COLUMNS = ("statement_id", "posting_id", "entry_id", "source_kind", "source_ref",
                "amount", "order_id", "order_line_id", "order_number", "description",
                "delivered_at")
# Lines read per round trip when a statement is written out as CSV: memory stays bounded
# however long the statement.
CSV_BATCH = 1000
STATEMENTS_PAGE = 200

# A query of the available postings for statements (``ITEM_COLUMNS``), given their ids.
ItemsQuery = Callable[[Sequence[int]], "Select[Any] | CompoundSelect"]


@dataclass(frozen=True, slots=True)
class Swept:
    statements: list[StatementView]
    # Payees whose available postings did not add up to a payment: carried.
    carried: int


def sweep(session: Session, accounts: Sequence[tuple[int, AccountKey]], items: ItemsQuery,
          now: datetime) -> Swept:
    """Statements for these payee accounts, in the caller's transaction. One statement is
    opened per account, the postings ``items`` selects for them (the caller's rule of what
    is available, never swept before) are copied onto them in the database (one INSERT ...
    SELECT: no line passes through this process, so memory grows with the number of payees,
    never of lines), and each statement whose lines owe the payee something
    (``payout_amount``) is paid with its ``payout_sent`` entry. The others are deleted with
    their lines: nothing swept, a negative balance carried.

    Two runs at once: the accounts' rows are locked first, in id order (PostgreSQL; SQLite's
    writers take turns), so the second run waits and then finds the postings the first
    swept; the unique ``payout_items.posting_id`` refuses a second sweep of one anyway."""
    if not accounts:
        return Swept([], 0)
    ids = sorted(account_id for account_id, _ in accounts)
    session.execute(select(LedgerAccount.id).where(LedgerAccount.id.in_(ids))
                    .order_by(LedgerAccount.id).with_for_update())
    opened = {account_id: PayoutStatement(
        payee=str(key.owner), currency=key.currency, account_id=account_id, amount=0,
        line_count=0, status=StatementStatus.SENT.value, created_at=now, as_of=now)
        for account_id, key in accounts}
    session.add_all(opened.values())
    session.flush()
    by_id = {statement.id: statement for statement in opened.values()}
    _copy_items(session, items(list(by_id)))
    totals = {row.statement_id: (int(row.total), int(row.lines)) for row in session.execute(
        select(PayoutItem.statement_id, func.sum(PayoutItem.amount).label("total"),
               func.count().label("lines"))
        .where(PayoutItem.statement_id.in_(list(by_id))).group_by(PayoutItem.statement_id))}
    keys = dict(accounts)
    made, dropped, carried = [], [], 0
    for statement_id, statement in sorted(by_id.items()):
        total, lines = totals.get(statement_id, (0, 0))
        amount = payout_amount(total)
        if amount is None:
            dropped.append(statement_id)
            carried += lines > 0
            continue
        posted = ledger.post(session, payout_sent_entry(
            statement_id, keys[statement.account_id], amount))
        statement.amount, statement.line_count = amount, lines
        statement.entry_id = posted.entry_id
        made.append(statement)
    if dropped:
        session.execute(delete(PayoutItem).where(PayoutItem.statement_id.in_(dropped)))
        for statement_id in dropped:
            session.delete(by_id[statement_id])
    session.flush()
    return Swept(_view_rows(session, made), carried)


def _copy_items(session: Session, items: Select[Any] | CompoundSelect) -> None:
    """Copy the selected postings onto their statements in two statements, through a
    temporary table: the selection reads ``payout_items`` (what was swept before), and one
    INSERT ... SELECT into the table it reads makes PostgreSQL scan the rows it has just
    inserted once per row it selects (quadratic: minutes for 100,000 lines). The planner is
    shown the table's size first, so it looks swept postings up by index or hash."""
    refresh_statistics(session, ["payout_items"])
    staging = Table("payout_items_staging", MetaData(),
                    *(Column(column.name, column.type) for column in PayoutItem.__table__.c
                      if column.name in ITEM_COLUMNS),
                    prefixes=["TEMPORARY"])
    connection = session.connection()
    staging.create(connection)
    try:
        session.execute(insert(staging).from_select(list(ITEM_COLUMNS), items))
        session.execute(insert(PayoutItem).from_select(
            list(ITEM_COLUMNS), select(*(staging.c[name] for name in ITEM_COLUMNS))))
    finally:
        staging.drop(connection)


def mark_paid(session: Session, statement_id: int, paid_by: int, provider: PayoutProvider,
              reference: str, now: datetime) -> tuple[StatementView, StatementView]:
    """Pay the statement through ``provider`` and post in transit -> cash, in the caller's
    transaction; (before, after) for the audit. Paid already: nothing changes (a retry
    or a second admin's click)."""
    statement = session.get(PayoutStatement, statement_id, with_for_update=True)
    if statement is None:
        raise NotFound("No such payout statement", field="statement_id")
    before = _view(session, statement)
    if statement.status == StatementStatus.PAID.value:
        return before, before
    ref = provider.pay(PayoutOrder(statement.id, statement.payee, statement.currency,
                                   statement.amount), reference)
    posted = ledger.post(session, payout_paid_entry(statement.id, statement.currency,
                                                    statement.amount))
    session.execute(update(PayoutStatement).where(PayoutStatement.id == statement.id).values(
        status=StatementStatus.PAID.value, paid_at=now, paid_by=paid_by,
        provider=provider.name, provider_ref=ref[:100], paid_entry_id=posted.entry_id))
    session.refresh(statement)
    return before, _view(session, statement)


def policy_of(settings: Settings) -> PayoutPolicy:
    """The payout policy the settings configure (the US hold)."""
    return PayoutPolicy(hold_days=settings.payout_hold_days)


# --- reading ---

def statement_of(db: Database, actor: Actor, statement_id: int) -> StatementView:
    with db.read() as session:
        return _view(session, _visible(session, actor, statement_id))


def creator_statements(db: Database, actor: Actor) -> list[StatementView]:
    """The actor's own statements as a creator (none for someone who never earned)."""
    with db.read() as session:
        return _views(session, [str(Owner.creator(actor.user_id))])


def shop_statements(db: Database, actor: Actor, shop_id: int) -> list[StatementView]:
    with db.read() as session:
        owned_shop(session, actor, shop_id)
        return _views(session, [str(Owner.shop(shop_id))])


def seller_statements(db: Database, actor: Actor) -> list[StatementView]:
    """The statements of every shop the actor owns."""
    with db.read() as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.owner_id == actor.user_id))
        return _views(session, [str(Owner.shop(shop_id)) for shop_id in shop_ids])


def all_statements(session: Session, status: StatementStatus | None = None,
                   limit: int = STATEMENTS_PAGE) -> list[StatementView]:
    """Newest first, for the back office (the caller checks it is an admin)."""
    query = select(PayoutStatement).order_by(PayoutStatement.id.desc()).limit(limit)
    if status is not None:
        query = query.where(PayoutStatement.status == status.value)
    return _view_rows(session, list(session.scalars(query)))


def statement_csv(db: Database, actor: Actor, statement_id: int) -> Iterator[str]:
    """The statement as CSV, a header and one row per line it covers, read in batches:
    authorised before the first byte (a refusal is an error, not half a file)."""
    with db.read() as session:
        statement = _visible(session, actor, statement_id)
        payee, currency = Owner.parse(statement.payee), statement.currency
    return _csv_rows(db, statement_id, payee, currency)


def _csv_rows(db: Database, statement_id: int, payee: Owner, currency: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flush()
    after = 0
    while True:
        # Keyset pages, each its own short read: no transaction or cursor held open while
        # the client downloads.
        with db.read() as session:
            rows = session.execute(
                select(PayoutItem.id, PayoutItem.source_kind, PayoutItem.source_ref,
                       PayoutItem.order_number, PayoutItem.order_line_id,
                       PayoutItem.description, PayoutItem.delivered_at, PayoutItem.amount)
                .where(PayoutItem.statement_id == statement_id, PayoutItem.id > after)
                .order_by(PayoutItem.id).limit(CSV_BATCH)).all()
        if not rows:
            return
        for row in rows:
            # The payee's side: what they are paid is positive, a clawback negative.
            writer.writerow(csv_row(statement_id, payee, currency, StatementLine(
                SourceKey(row.source_kind, row.source_ref), row.order_number,
                row.order_line_id, row.description, row.delivered_at, -row.amount)))
        after = rows[-1].id
        yield flush()


def swept_sources(session: Session, account: AccountKey) -> dict[SourceKey, StatementStatus]:
    """The sources of the account's postings that statements cover, with each statement's
    status (what an earnings page shows as in payout or paid)."""
    rows = session.execute(
        select(PayoutItem.source_kind, PayoutItem.source_ref, PayoutStatement.status)
        .join(PayoutStatement, PayoutStatement.id == PayoutItem.statement_id)
        .where(PayoutStatement.payee == str(account.owner),
               PayoutStatement.currency == account.currency))
    return {SourceKey(row.source_kind, row.source_ref): StatementStatus(row.status)
            for row in rows}


def _visible(session: Session, actor: Actor, statement_id: int) -> PayoutStatement:
    statement = session.get(PayoutStatement, statement_id)
    if statement is None:
        raise NotFound("No such payout statement", field="statement_id")
    if actor.is_admin:
        return statement
    payee = Owner.parse(statement.payee)
    if payee.kind is OwnerKind.CREATOR and payee.ref == str(actor.user_id):
        return statement
    if payee.kind is OwnerKind.SHOP and session.scalar(
            select(Shop.owner_id).where(Shop.id == int(payee.ref))) == actor.user_id:
        return statement
    raise Forbidden("This statement is another payee's", field="statement_id")


def _views(session: Session, payees: Sequence[str]) -> list[StatementView]:
    if not payees:
        return []
    return _view_rows(session, list(session.scalars(
        select(PayoutStatement).where(PayoutStatement.payee.in_(payees))
        .order_by(PayoutStatement.id.desc()).limit(STATEMENTS_PAGE))))


def _view_rows(session: Session, rows: list[PayoutStatement]) -> list[StatementView]:
    names = _payee_names(session, {row.payee for row in rows})
    return [_view(session, row, names) for row in rows]


def _view(session: Session, row: PayoutStatement, names: dict[str, str] | None = None
          ) -> StatementView:
    names = names if names is not None else _payee_names(session, {row.payee})
    return StatementView(
        id=row.id, payee=row.payee, payee_name=names.get(row.payee, row.payee),
        currency=row.currency, amount=row.amount, line_count=row.line_count,
        status=StatementStatus(row.status), created_at=row.created_at, as_of=row.as_of,
        paid_at=row.paid_at, provider=row.provider, provider_ref=row.provider_ref)


def _payee_names(session: Session, payees: set[str]) -> dict[str, str]:
    owners = [Owner.parse(payee) for payee in payees]
    shop_ids = [int(owner.ref) for owner in owners if owner.kind is OwnerKind.SHOP]
    user_ids = [int(owner.ref) for owner in owners if owner.kind is OwnerKind.CREATOR]
    names: dict[str, str] = {}
    if shop_ids:
        names.update({str(Owner.shop(shop_id)): name for shop_id, name in session.execute(
            select(Shop.id, Shop.name).where(Shop.id.in_(shop_ids)))})
    if user_ids:
        names.update({str(Owner.creator(user_id)): name for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(user_ids)))})
    return names
