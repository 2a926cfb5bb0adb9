"""Live-show tables: shows and their lineup, pins, flash sales, chat and moderation,
follows and reminders (their notices: liveshop/notifications)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liveshop.core.db import Base, UTCDateTime, utcnow

# The shop's grant to a creator is the creators domain's table; the live room reads it.
from liveshop.creators.orm import ShopCreator as ShopCreator


class Show(Base):
    __tablename__ = "shows"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a creator's own show, whose lineup takes products of several shops (each one
    # the creator has an active affiliate plan for: liveshop/live/lineups.py).
    shop_id: Mapped[int | None] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), index=True, nullable=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(140))
    description: Mapped[str] = mapped_column(Text, default="")
    cover_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Markets the show sells in, as ",UK,DE," (same convention as product tags).
    markets: Mapped[str] = mapped_column(String(40))
    # scheduled -> live -> ended
    status: Mapped[str] = mapped_column(String(10), default="scheduled", index=True)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pinned_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), nullable=True
    )
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A platform admin took the replay down (liveshop/admin): listed nowhere, page not found.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    lineup: Mapped[list[ShowProduct]] = relationship(
        cascade="all, delete-orphan", order_by="ShowProduct.position", lazy="selectin"
    )


class ShowProduct(Base):
    __tablename__ = "show_products"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class ShowPin(Base):
    """When each product was pinned: the replay's shoppable timeline."""

    __tablename__ = "show_pins"

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unpinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FlashSale(Base):
    __tablename__ = "flash_sales"
    __table_args__ = (
        CheckConstraint("remaining >= 0", name="remaining_non_negative"),
        CheckConstraint("remaining <= quantity", name="remaining_at_most_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    # Sale price per market the show sells in: {"UK": 999, "DE": 1199}, minor units.
    prices: Mapped[dict[str, Any]] = mapped_column(JSON)
    quantity: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    # Bumped with every claim and give-back: orders the coalesced "units left" updates.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    per_buyer_limit: Mapped[int] = mapped_column(Integer, default=1)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # active -> ended (time up or sold out) | stopped (by the host)
    status: Mapped[str] = mapped_column(String(10), default="active")
    # The sale's units, set aside from ordinary stock while it runs (inventory.hold); None
    # for a sale started before sales held stock.
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("stock_holds.id"), nullable=True)


class FlashSaleProposal(Base):
    """A flash sale a creator proposes for another shop's product in their own show: it
    starts only once the shop's owner approved its price and units (liveshop/live/
    sale_proposals.py). The units are held from the shop's stock when it starts."""

    __tablename__ = "flash_sale_proposals"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Sale price per market of the show, as FlashSale.prices.
    prices: Mapped[dict[str, Any]] = mapped_column(JSON)
    quantity: Mapped[int] = mapped_column(Integer)
    per_buyer_limit: Mapped[int] = mapped_column(Integer, default=1)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    # proposed -> approved | declined; approved -> started (once, by the host)
    status: Mapped[str] = mapped_column(String(10), default="proposed", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("flash_sales.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlashSaleClaim(Base):
    """Units one buyer took from one sale, to hold the per-buyer limit."""

    __tablename__ = "flash_sale_claims"
    __table_args__ = (UniqueConstraint("sale_id", "buyer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("flash_sales.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class SalePurchase(Base):
    """A flash-sale tap whose units are claimed, waiting to be paid for.

    The tap is answered as soon as the claim commits; checkout and payment run afterwards
    (liveshop/live/purchase_settlement.py). These rows are that work's durable queue: a
    process that dies mid-payment leaves its row pending, and another picks it up once the
    lease ends, re-running the buyer's purchase under the same idempotency key (no second
    charge).
    """

    __tablename__ = "sale_purchases"
    __table_args__ = (UniqueConstraint("buyer_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("flash_sales.id", ondelete="CASCADE"))
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The client's key: the purchase's checkout and payment steps are stored under it.
    idempotency_key: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    market: Mapped[str] = mapped_column(String(2))
    unit_price: Mapped[int] = mapped_column(Integer)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # pending -> paid | failed
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    # A settling process holds the row until then; past it, anyone may run it again.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id"), nullable=True)
    # The failure as the buyer would have got it from a synchronous purchase.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ShowModerator(Base):
    __tablename__ = "show_moderators"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class ChatMute(Base):
    __tablename__ = "chat_mutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ShopBan(Base):
    """Banned from every show of the shop, across reconnects and new shows."""

    __tablename__ = "shop_bans"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopChatFilter(Base):
    """A shop's banned words; messages containing one are refused."""

    __tablename__ = "shop_chat_filters"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    word: Mapped[str] = mapped_column(String(60), primary_key=True)


class ShopFollow(Base):
    __tablename__ = "shop_follows"

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreatorFollow(Base):
    __tablename__ = "creator_follows"

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    creator_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShowReminder(Base):
    __tablename__ = "show_reminders"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
