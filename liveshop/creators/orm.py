"""Creators' tables: a shop's grant to a creator to host its shows, affiliate plans that open
a product to creators for a commission, creators' profiles and showcases, share-link clicks
and sample requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
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
    # When the invited creator accepted a targeted plan: it earns only from then on.
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreatorProfile(Base):
    """A creator's public face: the handle of their page (/@handle) and share links
    (``?ref=handle``), a bio and an avatar."""

    __tablename__ = "creator_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    avatar_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShareClick(Base):
    """A landing through a creator's share link or showcase: who (a signed-in buyer, or an
    anonymous browser's ``visitor`` key until it signs in), whose link, for what, when.
    The last one for a product within the window earns its sale (creators/model.py
    ``attribute``)."""

    __tablename__ = "share_clicks"
    __table_args__ = (Index("ix_share_clicks_buyer_at", "buyer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            index=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                 nullable=True)
    visitor: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), nullable=True)
    show_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    via: Mapped[str] = mapped_column(String(10))  # share_link | showcase
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShowcaseItem(Base):
    """A product a creator promotes on their profile (only while they have an active plan
    for it)."""

    __tablename__ = "showcase_items"

    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SampleRequest(Base):
    """A creator asks a shop for a free unit of a product to try. The seller approves
    (it becomes a zero-price order shipped to the creator, ``order_id``) or declines.
    One open request per creator and variant (the partial unique index)."""

    __tablename__ = "sample_requests"
    __table_args__ = (
        Index("uq_sample_requests_open", "creator_id", "variant_id", unique=True,
              sqlite_where=text("status = 'requested'"),
              postgresql_where=text("status = 'requested'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"),
                                         index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    market: Mapped[str] = mapped_column(String(2))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="requested")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
