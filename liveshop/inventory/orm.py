"""Inventory tables: stock per variant, reservations and the movement ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow


class StockLevel(Base):
    """Counters that always satisfy: units ever received - units removed =
    available + reserved + held + sold. The ledger explains every change
    (liveshop/inventory/model.py)."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_non_negative"),
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        CheckConstraint("sold >= 0", name="sold_non_negative"),
        CheckConstraint("held >= 0", name="held_non_negative"),
    )

    variant_id: Mapped[int] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True
    )
    available: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    # Set aside for flash sales: the sum of the variant's stock_holds.
    held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Bumped by every change, so updates published out of order can be put back in order.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StockHold(Base):
    """Units set aside from ordinary stock for a flash sale: its unclaimed units and the
    claimed ones not yet paid for. A regular checkout cannot take them; a claimed unit
    leaves the hold as its buyer's reservation."""

    __tablename__ = "stock_holds"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reservation(Base):
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    # active -> committed (paid) | released (expired, declined, cancelled)
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Drawn from a flash sale's hold (not from available); released, it goes back there.
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("stock_holds.id"), nullable=True)


class StockMovement(Base):
    """Append-only ledger; kind is one of liveshop.inventory.model.MOVES."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(Integer)
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("reservations.id"), nullable=True
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("stock_holds.id"), nullable=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
