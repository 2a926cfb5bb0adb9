"""The books' tables: accounts, journal entries and their postings (append-only).

No balance is stored anywhere: an account's balance is the sum of its postings
(liveshop/ledger/service.py), so there is no counter that could drift from them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow
from liveshop.ledger.model import MAX_MEMO, MAX_SOURCE_KIND, MAX_SOURCE_REF


class LedgerAccount(Base):
    """One account per kind, owner and currency (``AccountKey``), made on first use."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("kind", "owner", "currency", name="uq_ledger_accounts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(40), index=True)  # "shop:12", "market:UK"
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JournalEntryRow(Base):
    """An entry, once per source: the unique (source_kind, source_ref) is what makes
    posting idempotent, even for two transactions posting the same source at once."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_ref", name="uq_ledger_entries_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(MAX_SOURCE_KIND))
    source_ref: Mapped[str] = mapped_column(String(MAX_SOURCE_REF))
    memo: Mapped[str] = mapped_column(String(MAX_MEMO), default="")
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Posting(Base):
    """One leg of an entry: minor units of the account's currency, debit > 0, credit < 0."""

    __tablename__ = "ledger_postings"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_non_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
