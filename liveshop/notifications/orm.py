"""The notices people find under "Alerts" (the notification centre)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    # A page of the site (an order, a show), relative to it.
    link: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the notice is about, for good ("order-shipped-42"): a handler of an event the
    # outbox delivers again finds its notice posted and posts (and mails) nothing more.
    key: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)
