"""How a change reaches a live room: one envelope published to the room's broker channel,
which every app process's hub fans out to its own sockets (liveshop/live/room.py).

Use cases do not call this: they record domain events (liveshop/live/events.py), and the
room publisher (liveshop/live/room_publisher.py) publishes them here once they commit. The
hub's own tallies (reactions counted in memory) are published here directly.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from liveshop.live.broker import Broker
from liveshop.live.events import SaleUnits
from liveshop.live.frames import ChatMessage, Frame, OrderFrame, encode

# WebSocket close codes of the live protocol (docs/live-protocol.md).
CLOSE_BANNED = 4403
CLOSE_TOO_SLOW = 4408
# What the user may do in the room changed (e.g. a creator the shop removed): reconnect for
# a fresh snapshot.
CLOSE_RESYNC = 4205


def channel_of(show_id: int) -> str:
    return f"liveshop:show:{show_id}"


class StockUpdate(TypedDict):
    """Stock as the hubs coalesce it: versions included (liveshop/live/room.py)."""

    variants: NotRequired[dict[str, list[int]]]  # variant id: [available, version]
    sale: NotRequired[SaleUnits | None]


# --- the envelopes on a room's channel, by addressee ---


class ToAll(TypedDict):
    to: Literal["all"]
    event: Frame


class ToStaff(TypedDict):
    to: Literal["staff"]
    event: Frame


class ToUser(TypedDict):
    to: Literal["user"]
    user: int
    event: Frame
    disconnect: bool
    close: int


class ChatToAll(TypedDict):
    """Batched by each hub into one ``chat`` frame per tick."""

    to: Literal["chat"]
    message: ChatMessage


class StockToAll(TypedDict):
    """Coalesced by each hub into at most two ``stock`` frames a second."""

    to: Literal["stock"]
    stock: StockUpdate


class HeartsToAll(TypedDict):
    """Summed by each hub into one ``hearts`` frame per tick."""

    to: Literal["hearts"]
    count: int


Envelope = ToAll | ToStaff | ToUser | ChatToAll | StockToAll | HeartsToAll


class RoomEvents:
    """Publishes to a room's channel, from any thread."""

    def __init__(self, broker: Broker):
        self.broker = broker

    def _send(self, show_id: int, envelope: Envelope) -> None:
        self.broker.publish(channel_of(show_id), encode(envelope).encode())

    def broadcast(self, show_id: int, event: Frame) -> None:
        self._send(show_id, {"to": "all", "event": event})

    def to_staff(self, show_id: int, event: OrderFrame) -> None:
        self._send(show_id, {"to": "staff", "event": event})

    def to_user(self, show_id: int, user_id: int, event: Frame,
                disconnect: bool = False, close_code: int = CLOSE_BANNED) -> None:
        """To one user's sockets in the room; ``disconnect`` closes them afterwards with
        ``close_code`` (a ban by default)."""
        self._send(show_id, {"to": "user", "user": user_id, "event": event,
                             "disconnect": disconnect, "close": close_code})

    def chat(self, show_id: int, message: ChatMessage) -> None:
        self._send(show_id, {"to": "chat", "message": message})

    def stock(self, show_id: int, stock: StockUpdate) -> None:
        self._send(show_id, {"to": "stock", "stock": stock})

    def hearts(self, show_id: int, count: int) -> None:
        self._send(show_id, {"to": "hearts", "count": count})
