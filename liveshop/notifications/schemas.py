"""What the notification centre shows, to pages and the API alike."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class NotificationView(BaseModel):
    id: int
    text: str
    link: str
    created_at: datetime
    read: bool
