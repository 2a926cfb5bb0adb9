"""What services tell a live room after they commit a change: one envelope published to
the room's broker channel, which every app process's hub fans out to its own sockets
(liveshop/live/room.py)."""

from __future__ import annotations

import json
from typing import Any

from liveshop.live.broker import Broker

# WebSocket close codes of the live protocol (docs/live-protocol.md).
CLOSE_BANNED = 4403
CLOSE_TOO_SLOW = 4408
# What the user may do in the room changed (e.g. a creator the shop removed): reconnect for
# a fresh snapshot.
CLOSE_RESYNC = 4205


def channel_of(show_id: int) -> str:
    return f"liveshop:show:{show_id}"


def encode(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


class RoomEvents:
    """What services call (from any thread) after committing a change to a room."""

    def __init__(self, broker: Broker):
        self.broker = broker

    def _send(self, show_id: int, envelope: dict[str, Any]) -> None:
        self.broker.publish(channel_of(show_id), encode(envelope).encode())

    def broadcast(self, show_id: int, event: dict[str, Any]) -> None:
        self._send(show_id, {"to": "all", "event": event})

    def to_staff(self, show_id: int, event: dict[str, Any]) -> None:
        self._send(show_id, {"to": "staff", "event": event})

    def to_user(self, show_id: int, user_id: int, event: dict[str, Any],
                disconnect: bool = False, close_code: int = CLOSE_BANNED) -> None:
        """To one user's sockets in the room; ``disconnect`` closes them afterwards with
        ``close_code`` (a ban by default)."""
        self._send(show_id, {"to": "user", "user": user_id, "event": event,
                             "disconnect": disconnect, "close": close_code})

    def chat(self, show_id: int, message: dict[str, Any]) -> None:
        self._send(show_id, {"to": "chat", "message": message})

    def stock(self, show_id: int, stock: dict[str, Any]) -> None:
        self._send(show_id, {"to": "stock", "stock": stock})

    def hearts(self, show_id: int, count: int) -> None:
        self._send(show_id, {"to": "hearts", "count": count})
