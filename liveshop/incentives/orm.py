"""Incentive tables: the market fees and fee holiday an admin sets, bonus campaigns and
vouchers with their budgets, and what was spent from them.

A budget's spend is a counter on its row (``spent``), moved only by conditional UPDATEs
(liveshop/incentives/service.py): it is a cap on promises, not money. The money is in the
books (``incentive_expense``), summed from postings as every balance is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow


class MarketFee(Base):
    """The platform fee of a market, in basis points (a market without a row: 5%)."""

    __tablename__ = "market_fees"

    market: Mapped[str] = mapped_column(String(2), primary_key=True)
    fee_bp: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FeeHolidayPolicy(Base):
    """The new-seller fee holiday, one row (id 1): none until an admin sets it."""

    __tablename__ = "fee_holiday_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    days: Mapped[int] = mapped_column(Integer, default=0)
    gmv_limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class HolidayGmv(Base):
    """A shop's sales (line totals) paid under its fee holiday, per currency: the counter
    the holiday's GMV limit is checked against, atomically."""

    __tablename__ = "fee_holiday_gmv"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"),
                                         primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    gmv: Mapped[int] = mapped_column(BigInteger, default=0)


class BonusCampaign(Base):
    __tablename__ = "bonus_campaigns"
    __table_args__ = (CheckConstraint("spent <= budget", name="within_budget"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    market: Mapped[str] = mapped_column(String(2))
    # None: every creator selling in the market.
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                   nullable=True, index=True)
    bonus_bp: Mapped[int] = mapped_column(Integer)
    budget: Mapped[int] = mapped_column(BigInteger)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BonusGrant(Base):
    """A bonus granted to an order line: what it took from its campaign's budget."""

    __tablename__ = "bonus_grants"

    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("bonus_campaigns.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Voucher(Base):
    __tablename__ = "vouchers"
    __table_args__ = (CheckConstraint("spent <= budget", name="within_budget"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: an automatic discount, applied without a code.
    code: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(120))
    market: Mapped[str] = mapped_column(String(2))
    percent_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    amount_off: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_basket: Mapped[int] = mapped_column(Integer, default=0)
    per_buyer_limit: Mapped[int] = mapped_column(Integer, default=1)
    budget: Mapped[int] = mapped_column(BigInteger)
    # Reserved by open checkouts and spent by paid ones; a released reservation gives back.
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VoucherRedemption(Base):
    """A voucher used in a checkout: reserved -> redeemed (paid) | released (cancelled,
    declined or expired: its amount went back to the budget)."""

    __tablename__ = "voucher_redemptions"
    __table_args__ = (Index("ix_voucher_redemptions_buyer", "voucher_id", "buyer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkouts.id", ondelete="CASCADE"),
                                             unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="reserved")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
