"""What the notification centre shows, to pages and the API alike."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from liveshop.core.inputs import Id, JsonInput


class NotificationView(BaseModel):
    id: int
    text: str
    link: str
    created_at: datetime
    read: bool


class MarkReadIn(JsonInput):
    up_to_id: Id = Field(description="The newest notice shown: it and every older one "
                                     "become read")


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notices this marked read")
