"""The WebSocket protocol liveshop serves room sockets with.

uvicorn's own sans-I/O WebSocket protocol, plus one ASGI scope extension,
``liveshop.send_now``: a callable that frames a text message and writes it to the socket's
transport at once, without an await, returning False when the socket cannot take it now
(its write buffer is over the high-water mark, or it is closing). That is what
``websockets.broadcast()`` does for its own connections, and what lets the room hub write one
event to thousands of sockets in a single pass instead of waking a task per socket
(docs/decisions/0001-room-sockets-write-directly.md). Servers without the extension (the test
client, another ASGI server) still work: the hub then queues frames for a writer task.

Serve with ``uvicorn --ws liveshop.live.transport:RoomWebSocketProtocol`` (``liveshop serve``
does).
"""

from __future__ import annotations

from collections.abc import Callable

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

SEND_NOW = "liveshop.send_now"
PROTOCOL_PATH = "liveshop.live.transport:RoomWebSocketProtocol"

SendNow = Callable[[str], bool]


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
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True


def send_now_of(scope: dict[str, object]) -> SendNow | None:
    """The direct writer of a socket served by :class:`RoomWebSocketProtocol`, else None."""
    extensions = scope.get("extensions")
    if not isinstance(extensions, dict):
        return None
    entry = extensions.get(SEND_NOW)
    return entry.get("send") if isinstance(entry, dict) else None
