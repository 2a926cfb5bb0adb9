"""Per-show video ingest state: the stream key and where publishing stands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow


class VideoStream(Base):
    """Created the first time a show's stream is asked for."""

    __tablename__ = "video_streams"

    show_id: Mapped[int] = mapped_column(
        ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True
    )
    stream_key: Mapped[str] = mapped_column(String(64), unique=True)
    # idle -> live -> reconnecting -> live ... -> ended
    state: Mapped[str] = mapped_column(String(12), default="idle")
    # "rtmp" | "browser" while someone is publishing, else None.
    publisher: Mapped[str | None] = mapped_column(String(10), nullable=True)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Wall-clock time of the recording's first segment: replay offsets count from here.
    recording_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
