"""Creators' tables: a shop's grant to a creator to host its shows, and affiliate plans that
open a product to creators for a commission."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow


class ShopCreator(Base):
    """A creator the shop invited to host its shows, with their commission."""

    __tablename__ = "shop_creators"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    creator_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    commission_bp: Mapped[int] = mapped_column(Integer, default=1000)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AffiliatePlan(Base):
    """A product opened to creators: ``open`` (any creator, one rate) or ``targeted`` (one
    invited creator, their own rate, until ``ends_at``). The rate in force is the one a
    paid order line copies (order_lines.commission_bp): changing it touches no sale before.

    One open plan per product, and one targeted plan per product and creator (the unique
    index and constraint: two sellers' clicks at once cannot make two)."""

    __tablename__ = "affiliate_plans"
    __table_args__ = (
        UniqueConstraint("product_id", "creator_id", name="uq_affiliate_plans_targeted"),
        Index("uq_affiliate_plans_open", "product_id", unique=True,
              sqlite_where=text("kind = 'open'"), postgresql_where=text("kind = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"),
                                         index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # open | targeted
    # The invited creator of a targeted plan; None for an open one.
    creator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True)
    rate_bp: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(default=False)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
