"""The WebSocket protocol liveshop serves room sockets with.

uvicorn's own sans-I/O WebSocket protocol, plus one ASGI scope extension,
``liveshop.send_now``: a callable that frames a text message and writes it to the socket's
transport at once, without an await, returning False when the socket cannot take it now
(its write buffer is over the high-water mark, or it is closing). That is what
``websockets.broadcast()`` does for its own connections, and what lets the room hub write one
event to thousands of sockets in a single pass instead of waking a task per socket
(docs/decisions/0001-room-sockets-write-directly.md). Servers without the extension (the
test client, another ASGI server) still work: the room then queues frames for a writer task
(liveshop/live/room_socket.py).

Serve with ``uvicorn --ws liveshop.live.socket_writes:RoomWebSocketProtocol`` (``liveshop serve``
does).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request
from websockets.protocol import State

SEND_NOW = "liveshop.send_now"
PROTOCOL_PATH = "liveshop.live.socket_writes:RoomWebSocketProtocol"

SendNow = Callable[[str], bool]

_FIN_TEXT = 0x81


def text_frame(payload: bytes) -> bytes:
    """A whole, unmasked, uncompressed text frame (what a server sends), RFC 6455 §5.2."""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", _FIN_TEXT, length)
    elif length < 65536:
        head = struct.pack("!BBH", _FIN_TEXT, 126, length)
    else:
        head = struct.pack("!BBQ", _FIN_TEXT, 127, length)
    return head + payload


class _LastFrame:
    """The wire bytes of the text most recently framed. The hub hands the same string object
    to every socket of a room in one pass, so it is encoded and framed once per event, not
    once per socket (sockets that negotiated compression still frame their own)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        # One tuple, swapped whole: a loop in another thread never sees text and bytes mixed.
        self.last: tuple[str, bytes] = ("", text_frame(b""))

    def of(self, text: str) -> bytes:
        last = self.last
        if last[0] is not text:
            last = self.last = (text, text_frame(text.encode()))
        return last[1]


_last_frame = _LastFrame()


class RoomWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # absent when the handshake was refused
            scope["extensions"][SEND_NOW] = {"send": self.send_now}

    def send_now(self, text: str) -> bool:
        if (not self.handshake_complete or self.close_sent or self.transport.is_closing()
                or not self.writable.is_set()):
            return False
        if self.conn.extensions:  # per-message deflate: compressed per socket
            try:
                self.conn.send_text(text.encode())
            except InvalidState:
                return False
            self.transport.write(b"".join(self.conn.data_to_send()))
            return True
        if self.conn.state is not State.OPEN:
            return False
        self.transport.write(_last_frame.of(text))
        return True


def send_now_of(scope: Mapping[str, Any]) -> SendNow | None:
    """The direct writer of a socket served by :class:`RoomWebSocketProtocol`, else None."""
    extensions = scope.get("extensions")
    if not isinstance(extensions, dict):
        return None
    entry = extensions.get(SEND_NOW)
    return entry.get("send") if isinstance(entry, dict) else None
