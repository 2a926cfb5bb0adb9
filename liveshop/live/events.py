"""What happened in a live room, as domain events (liveshop/core/events.py).

Each use case records these inside its transaction; once it commits, the room publisher
(liveshop/live/room_publisher.py) tells the room. Fields are plain JSON values. Facts of the
video (liveshop/video/events.py) and of orders (liveshop/orders/events.py) are recorded by
their own packages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

from liveshop.core.events import DomainEvent
from liveshop.live.frames import ChatMessage, FlashSaleCard, ProductCard

# --- the show ---


@dataclass(frozen=True)
class ShowWentLive(DomainEvent):
    show_id: int
    started_at: int  # ms since the epoch


@dataclass(frozen=True)
class ShowEnded(DomainEvent):
    show_id: int


@dataclass(frozen=True)
class ProductPinned(DomainEvent):
    """The host pinned a product over the video; ``product`` None: unpinned."""

    show_id: int
    product: ProductCard | None


@dataclass(frozen=True)
class HostChanged(DomainEvent):
    """The show was handed to another host (its creator was removed from the shop); the
    previous host's sockets must reconnect to learn what they may still do."""

    show_id: int
    host_id: int
    host_name: str
    previous_host_id: int


# --- flash sales and stock ---


@dataclass(frozen=True)
class SaleStarted(DomainEvent):
    show_id: int
    sale: FlashSaleCard


@dataclass(frozen=True)
class SaleEnded(DomainEvent):
    show_id: int
    sale_id: int
    reason: Literal["time", "stopped"]


@dataclass(frozen=True)
class SaleSoldOut(DomainEvent):
    """The sale's last unit was claimed."""

    show_id: int
    sale_id: int


class SaleUnits(TypedDict):
    """A sale's units left, at the sale's version."""

    id: int
    remaining: int
    v: int


@dataclass(frozen=True)
class StockChanged(DomainEvent):
    """Units on sale in the room changed: ``variants`` maps a variant id (as text) to its
    units available at the regular price and its stock's version; ``sale`` is the running
    sale's units left. Purchases commit concurrently and their events may arrive out of
    order: the versions let the rooms keep the newest."""

    show_id: int
    variants: dict[str, list[int]] = field(default_factory=dict)
    sale: SaleUnits | None = None

    @classmethod
    def of_variants(cls, show_id: int, stock: dict[int, list[int]]) -> StockChanged:
        """From ``{variant_id: [available, version]}`` as liveshop/live/sales.py reads it."""
        return cls(show_id, {str(variant_id): available_and_version
                             for variant_id, available_and_version in stock.items()})


# --- follows ---


@dataclass(frozen=True)
class ShopFollowed(DomainEvent):
    """A buyer followed a shop (the feed learns from it)."""

    user_id: int
    shop_id: int


@dataclass(frozen=True)
class CreatorFollowed(DomainEvent):
    user_id: int
    creator_id: int


# --- chat and moderation ---


@dataclass(frozen=True)
class ChatPosted(DomainEvent):
    show_id: int
    message: ChatMessage


@dataclass(frozen=True)
class ChatDeleted(DomainEvent):
    show_id: int
    message_ids: list[int]


@dataclass(frozen=True)
class SlowModeChanged(DomainEvent):
    show_id: int
    seconds: int


@dataclass(frozen=True)
class UserMuted(DomainEvent):
    show_id: int
    user_id: int
    until: int  # ms since the epoch


@dataclass(frozen=True)
class UserBanned(DomainEvent):
    """Banned from the shop's shows: told, and disconnected from this show's room."""

    show_id: int
    user_id: int
