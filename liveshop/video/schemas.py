"""Video views returned by the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class StreamInfo(BaseModel):
    """What the host needs to publish (secret: only the host, the shop and admins see it)."""

    show_id: int
    stream_key: str
    rtmp_url: str
    publish_url: str
    state: str
    publisher: str | None
    playlist: str
    recording: str
    poster: str
    recording_started_at: datetime | None
