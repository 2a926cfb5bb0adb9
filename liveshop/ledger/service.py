"""Posting journal entries and reading the books.

The functions taking a ``Session`` are building blocks: they run inside the caller's
transaction, so an entry is posted with the payment, refund or payout that causes it, or not
at all. ``trial_balance_of`` is the one use case with its own (read) transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, func, insert, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from liveshop.core.db import Database, upsert_into
from liveshop.core.errors import Conflict
from liveshop.ledger.model import (
    AccountKey,
    AccountKind,
    CurrencyTotals,
    JournalEntry,
    Leg,
    Owner,
    SourceKey,
)
from liveshop.ledger.orm import JournalEntryRow, LedgerAccount, Posting


@dataclass(frozen=True, slots=True)
class Posted:
    entry_id: int
    # False when the source had been posted before: this call posted nothing.
    new: bool


def post(session: Session, journal_entry: JournalEntry) -> Posted:
    """Post an entry once per source. Posting a source again posts nothing and returns the
    first entry, also when two transactions post it at once: the loser's insert finds the
    winner's row on the unique source (PostgreSQL waits for the winner's commit; SQLite
    writers take turns). The same source with different legs is a bug in the caller and
    raises ``Conflict`` (code ``ledger_source_reused``)."""
    source = journal_entry.source
    inserted = session.execute(
        upsert_into(session, JournalEntryRow.__table__)
        .values(source_kind=source.kind, source_ref=source.ref, memo=journal_entry.memo)
        .on_conflict_do_nothing(index_elements=["source_kind", "source_ref"])
        .returning(JournalEntryRow.__table__.c.id)
    ).scalar_one_or_none()
    if inserted is None:
        first = _entry_id(session, source)
        _same_legs_or_conflict(session, first, journal_entry)
        return Posted(first, new=False)
    accounts = account_ids(session, [leg.account for leg in journal_entry.legs])
    if journal_entry.legs:
        session.execute(insert(Posting), [
            {"entry_id": inserted, "account_id": accounts[leg.account], "amount": leg.amount}
            for leg in journal_entry.legs
        ])
    return Posted(inserted, new=True)


def post_many(session: Session, journal_entries: Sequence[JournalEntry]) -> list[Posted]:
    """Post several entries (a paid order's lines and shipping) in four statements however
    many there are, each once per source as :func:`post` does: one insert of the entries
    (a source posted before is skipped and checked to have the same legs), one upsert and
    one read of their accounts, one insert of every posting. Entries are inserted in source
    order, so two transactions posting overlapping sources wait for each other rather than
    deadlock."""
    if not journal_entries:
        return []
    by_source = {entry.source: entry for entry in journal_entries}
    if len(by_source) != len(journal_entries):
        raise Conflict("The same source twice in one posting", field="source",
                       code="ledger_source_reused")
    ordered = sorted(by_source.values(), key=lambda entry: (entry.source.kind,
                                                             entry.source.ref))
    table = JournalEntryRow.__table__
    inserted = {SourceKey(row.source_kind, row.source_ref): row.id for row in session.execute(
        upsert_into(session, table)
        .values([{"source_kind": entry.source.kind, "source_ref": entry.source.ref,
                  "memo": entry.memo} for entry in ordered])
        .on_conflict_do_nothing(index_elements=["source_kind", "source_ref"])
        .returning(table.c.id, table.c.source_kind, table.c.source_ref))}
    fresh = [entry for entry in ordered if entry.source in inserted]
    accounts = account_ids(session, [leg.account for entry in fresh for leg in entry.legs])
    postings = [{"entry_id": inserted[entry.source], "account_id": accounts[leg.account],
                 "amount": leg.amount} for entry in fresh for leg in entry.legs]
    if postings:
        session.execute(insert(Posting), postings)
    posted = {}
    for entry in ordered:
        if entry.source in inserted:
            posted[entry.source] = Posted(inserted[entry.source], new=True)
        else:
            first = _entry_id(session, entry.source)
            _same_legs_or_conflict(session, first, entry)
            posted[entry.source] = Posted(first, new=False)
    return [posted[entry.source] for entry in journal_entries]


def account_ids(session: Session, keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
    """The ids of these accounts, made on first use (concurrent first uses make one)."""
    wanted = sorted(set(keys))  # one order for every transaction: no deadlock between them
    if not wanted:
        return {}
    session.execute(
        upsert_into(session, LedgerAccount.__table__)
        .values([_account_values(key) for key in wanted])
        .on_conflict_do_nothing(index_elements=["kind", "owner", "currency"])
    )
    rows = session.execute(
        select(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.owner,
               LedgerAccount.currency).where(_any_of(wanted))
    ).all()
    return {_key(row.kind, row.owner, row.currency): row.id for row in rows}


def entry_of(session: Session, source: SourceKey) -> JournalEntry | None:
    """The entry posted for a source, or None."""
    row = session.execute(
        select(JournalEntryRow.id, JournalEntryRow.memo).where(
            JournalEntryRow.source_kind == source.kind, JournalEntryRow.source_ref == source.ref)
    ).one_or_none()
    if row is None:
        return None
    return JournalEntry(source, _legs_of(session, row.id), row.memo)


def balance(session: Session, account: AccountKey) -> int:
    """The sum of the account's postings (0 for an account never posted to)."""
    return session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(_any_of([account]))
    ) or 0


def balances(session: Session, *, kind: AccountKind | None = None,
             owner: Owner | None = None, currency: str | None = None
             ) -> dict[AccountKey, int]:
    """Every account's balance (those matching the filters), summed from its postings."""
    query = (select(LedgerAccount.kind, LedgerAccount.owner, LedgerAccount.currency,
                    func.coalesce(func.sum(Posting.amount), 0).label("total"))
             .outerjoin(Posting, Posting.account_id == LedgerAccount.id)
             .group_by(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.owner,
                       LedgerAccount.currency))
    if kind is not None:
        query = query.where(LedgerAccount.kind == kind.value)
    if owner is not None:
        query = query.where(LedgerAccount.owner == str(owner))
    if currency is not None:
        query = query.where(LedgerAccount.currency == currency)
    return {_key(row.kind, row.owner, row.currency): int(row.total)
            for row in session.execute(query)}


def trial_balance(session: Session) -> list[CurrencyTotals]:
    """Debits and credits of all postings per currency; each currency's must be equal."""
    debit = case((Posting.amount > 0, Posting.amount), else_=0)
    credit = case((Posting.amount < 0, -Posting.amount), else_=0)
    rows = session.execute(
        select(LedgerAccount.currency, func.sum(debit).label("debits"),
               func.sum(credit).label("credits"))
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .group_by(LedgerAccount.currency).order_by(LedgerAccount.currency)
    ).all()
    return [CurrencyTotals(row.currency, int(row.debits), int(row.credits)) for row in rows]


def trial_balance_of(db: Database) -> list[CurrencyTotals]:
    """The books page's trial balance (authorisation is the caller's: admins only)."""
    with db.read() as session:
        return trial_balance(session)


def _entry_id(session: Session, source: SourceKey) -> int:
    return session.execute(
        select(JournalEntryRow.id).where(JournalEntryRow.source_kind == source.kind,
                                         JournalEntryRow.source_ref == source.ref)
    ).scalar_one()


def _legs_of(session: Session, entry_id: int) -> tuple[Leg, ...]:
    rows = session.execute(
        select(LedgerAccount.kind, LedgerAccount.owner, LedgerAccount.currency, Posting.amount)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(Posting.entry_id == entry_id)
    ).all()
    # In the order ``ledger.model.entry`` gives legs, so an entry read back equals the one
    # that was posted.
    return tuple(sorted((Leg(_key(row.kind, row.owner, row.currency), row.amount)
                         for row in rows), key=lambda leg: leg.account))


def _same_legs_or_conflict(session: Session, entry_id: int, wanted: JournalEntry) -> None:
    if frozenset(_legs_of(session, entry_id)) != frozenset(wanted.legs):
        raise Conflict(f"{wanted.source} was posted before with other amounts",
                       field="source", code="ledger_source_reused")


def _account_values(key: AccountKey) -> dict[str, str]:
    return {"kind": key.kind.value, "owner": str(key.owner), "currency": key.currency}


def _key(kind: str, owner: str, currency: str) -> AccountKey:
    return AccountKey(AccountKind(kind), Owner.parse(owner), currency)


def _any_of(keys: Sequence[AccountKey]) -> ColumnElement[bool]:
    return or_(*(and_(LedgerAccount.kind == key.kind.value,
                      LedgerAccount.owner == str(key.owner),
                      LedgerAccount.currency == key.currency) for key in keys))


@dataclass(frozen=True, slots=True)
class AccountPosting:
    """One posting to an account, with the source of its entry."""

    source: SourceKey
    amount: int


def postings_to(session: Session, account: AccountKey,
                source_kinds: Collection[str] | None = None) -> list[AccountPosting]:
    """The account's postings (of entries from ``source_kinds``, if given), oldest first:
    what a payee's statement lists line by line."""
    query = (select(JournalEntryRow.source_kind, JournalEntryRow.source_ref, Posting.amount)
             .join(Posting, Posting.entry_id == JournalEntryRow.id)
             .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
             .where(_any_of([account])).order_by(Posting.id))
    if source_kinds is not None:
        query = query.where(JournalEntryRow.source_kind.in_(source_kinds))
    return [AccountPosting(SourceKey(row.source_kind, row.source_ref), int(row.amount))
            for row in session.execute(query)]


def postings_of_sources(session: Session, kind: AccountKind, sources: Collection[SourceKey]
                        ) -> list[tuple[SourceKey, AccountKey, int]]:
    """The postings to accounts of ``kind`` made by the entries of these sources."""
    if not sources:
        return []
    rows = session.execute(
        select(JournalEntryRow.source_kind, JournalEntryRow.source_ref, LedgerAccount.kind,
               LedgerAccount.owner, LedgerAccount.currency, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntryRow.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(LedgerAccount.kind == kind.value,
               or_(*(and_(JournalEntryRow.source_kind == source.kind,
                          JournalEntryRow.source_ref == source.ref) for source in sources)))
        .order_by(Posting.id)).all()
    return [(SourceKey(row.source_kind, row.source_ref), _key(row.kind, row.owner, row.currency),
             int(row.amount)) for row in rows]


def balances_by_kind(session: Session) -> dict[tuple[AccountKind, str], int]:
    """(account kind, currency) -> the sum of every such account's postings: the books
    page's summary. Over all kinds they sum to zero per currency, as the trial balance."""
    rows = session.execute(
        select(LedgerAccount.kind, LedgerAccount.currency,
               func.coalesce(func.sum(Posting.amount), 0).label("total"))
        .join(Posting, Posting.account_id == LedgerAccount.id)
        .group_by(LedgerAccount.kind, LedgerAccount.currency)
        .order_by(LedgerAccount.currency, LedgerAccount.kind))
    return {(AccountKind(row.kind), row.currency): int(row.total) for row in rows}
