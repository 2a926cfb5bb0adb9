"""Payout statements and the postings each covers.

A statement is a document: it is written once by a payout run and never edited, except
that an admin marks it paid. Its lines (``payout_items``) copy what the payee needs to
recognise each amount (order number, item, delivery), so the CSV never changes after the
catalogue or the order does. The unique ``posting_id`` is the rule "no posting is paid
twice" held by the database, whatever runs at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow
from liveshop.ledger.model import MAX_SOURCE_KIND, MAX_SOURCE_REF


class PayoutStatement(Base):
    __tablename__ = "payout_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The payee as the books name it ("shop:12", "creator:7") and the account paid from.
    payee: Mapped[str] = mapped_column(String(40), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    # What the statement pays, minor units, > 0 (the sum of its lines).
    amount: Mapped[int] = mapped_column(BigInteger)
    line_count: Mapped[int] = mapped_column(Integer)
    # sent | paid (payouts/model.py StatementStatus)
    status: Mapped[str] = mapped_column(String(10), default="sent", index=True)
    # The payout_sent journal entry; the payout_paid one once it is paid.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), nullable=True)
    paid_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"),
                                                      nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Deliveries up to this moment's withdrawal periods were considered (the run's clock).
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(20), nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)


class PayoutItem(Base):
    """One posting to the payee's account that the statement pays (or nets, a clawback)."""

    __tablename__ = "payout_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("payout_statements.id", ondelete="CASCADE"), index=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("ledger_postings.id"), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    source_kind: Mapped[str] = mapped_column(String(MAX_SOURCE_KIND))
    source_ref: Mapped[str] = mapped_column(String(MAX_SOURCE_REF))
    # The posting's amount: negative is owed to the payee (a credit), positive a clawback.
    amount: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"),
                                                      nullable=True)
    order_number: Mapped[str] = mapped_column(String(20), default="")
    description: Mapped[str] = mapped_column(String(400), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
