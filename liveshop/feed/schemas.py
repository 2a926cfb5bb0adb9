"""The feed's API shapes: interaction events in, feed pages out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from liveshop.core.inputs import Id, JsonInput, OneOf, Timestamp
from liveshop.feed import model

BrowserKind = Annotated[str, OneOf(tuple(sorted(k.value for k in model.BROWSER_KINDS)))]
EventItemType = Literal["product", "show"]


class EventIn(JsonInput):
    type: BrowserKind = Field(description="What happened. Purchases, follows, cart lines and "
                              "chat messages are recorded by the server itself.")
    item_type: EventItemType
    item_id: Id
    show_id: Id | None = Field(default=None, description="The show it happened in, if any")
    at: Timestamp | None = Field(default=None, description="When (default: on arrival); "
                                 "at most 2 days ago, at most 5 minutes ahead")
    value: float = Field(default=1.0, ge=0, le=model.MAX_WATCH_SECONDS,
                         description="watch: seconds watched since the last heartbeat")


class EventBatch(JsonInput):
    events: list[EventIn] = Field(min_length=1, max_length=model.MAX_BATCH)


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Queued for writing")
    dropped: int = Field(description="Refused because this process's queue was full")


Tab = Literal["for_you", "following"]


class FeedCard(BaseModel):
    key: str = Field(description="'product:<id>' or 'show:<id>'")
    item_type: Literal["product", "show"]
    item_id: int
    kind: Literal["live", "upcoming", "replay", "product"]
    title: str
    url: str
    image_url: str | None
    shop_id: int
    shop_name: str
    host_id: int | None
    host_name: str | None
    why: str = Field(description="Why the card is in this viewer's feed")
    price_formatted: str | None = None
    in_stock: bool = True
    viewers: int | None = Field(default=None, description="Live shows: watching now")
    starts_at: datetime | None = None
    reminded: bool = False
    following_host: bool = False


class FeedPage(BaseModel):
    tab: Tab
    items: list[FeedCard]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at "
                                    "the end. Pages stay stable while new items arrive.")


class LiveViewers(BaseModel):
    viewers: dict[str, int] = Field(description="Show id -> viewers now (live shows only)")
