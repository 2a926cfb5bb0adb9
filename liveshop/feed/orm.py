"""The feed's tables: interaction events (append-only), their daily summaries once raw
events pass the retention age, "not interested" choices, the trained item neighbours and
the record of each training."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow

# SQLite numbers rows only through INTEGER PRIMARY KEY; PostgreSQL gets 64 bits.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class FeedEvent(Base):
    """One interaction, as it happened: never updated but to tie a visitor's events to the
    account they logged in to, deleted only by retention (liveshop/feed/retention.py).
    No foreign keys: rows are written in bulk by the event writer and must outlive what
    they refer to for analysis."""

    __tablename__ = "feed_events"
    __table_args__ = (
        Index("ix_feed_events_user_at", "user_id", "occurred_at"),
        Index("ix_feed_events_market_at", "market", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The anonymous visitor's cookie id (liveshop_visitor), kept after a log-in merge.
    visitor_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    item_type: Mapped[str] = mapped_column(String(8))
    item_id: Mapped[int] = mapped_column(Integer)
    shop_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    creator_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    show_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    market: Mapped[str | None] = mapped_column(String(2), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Seconds watched (watch), units (purchase, add_to_cart), else 1.
    value: Mapped[float] = mapped_column(Float, default=1.0)


class FeedEventDay(Base):
    """Raw events past the retention age, summed per day, market, kind and item."""

    __tablename__ = "feed_event_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    market: Mapped[str] = mapped_column(String(2), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    item_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)


class FeedDismissal(Base):
    """A viewer said "not interested": the item is hidden, its shop ranked lower."""

    __tablename__ = "feed_dismissals"
    __table_args__ = (Index("ix_feed_dismissals_viewer", "viewer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "u:<user id>" or "v:<visitor id>": merged to the account's at log-in.
    viewer: Mapped[str] = mapped_column(String(40))
    item_type: Mapped[str] = mapped_column(String(8))
    item_id: Mapped[int] = mapped_column(Integer)
    shop_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemNeighbour(Base):
    """The trained item-to-item model, precomputed: an item's nearest items with their
    scores (item codes: liveshop/feed/model.py item_code). Replaced whole by each training."""

    __tablename__ = "feed_item_neighbours"

    item_code: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    neighbour_code: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    score: Mapped[float] = mapped_column(Float)


class FeedTraining(Base):
    """One training run: when, how, on how much, how long."""

    __tablename__ = "feed_trainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(20))
    events: Mapped[int] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)
    neighbour_rows: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
