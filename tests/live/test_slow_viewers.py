"""A viewer that stops reading cannot grow server memory or hold up the others."""

from __future__ import annotations

import asyncio
from typing import Any

from liveshop.live.room import Hub, create_hub
from liveshop.live.room_events import CLOSE_TOO_SLOW
from liveshop.live.room_socket import QUEUE_LIMIT, SocketConnection
from liveshop.live.socket_writes import SEND_NOW
from tests.conftest import run_async


class StuckSocket:
    """A socket whose peer never reads: every send waits forever, and a server that writes
    directly finds its buffer full."""

    def __init__(self, direct: bool) -> None:
        self.scope: dict[str, Any] = {"extensions": {}}
        if direct:
            self.scope["extensions"][SEND_NOW] = {"send": lambda frame: False}

    async def send_text(self, frame: str) -> None:
        await asyncio.Event().wait()


class ReadingSocket:
    def __init__(self) -> None:
        self.scope: dict[str, Any] = {"extensions": {}}
        self.sent = 0

    async def send_text(self, frame: str) -> None:
        self.sent += 1


def _scenario(direct: bool) -> tuple[Hub, ReadingSocket, SocketConnection, SocketConnection,
                                     int]:
    async def scenario() -> tuple[Hub, ReadingSocket, SocketConnection, SocketConnection, int]:
        hub = create_hub()
        await hub.broker.start(asyncio.get_running_loop())
        stuck_socket, reading_socket = StuckSocket(direct), ReadingSocket()
        stuck = SocketConnection(stuck_socket, None, "anon:stuck", False)  # type: ignore[arg-type]
        reading = SocketConnection(reading_socket, None, "anon:ok", False)  # type: ignore[arg-type]
        for connection in (stuck, reading):
            hub.join(1, connection)
            connection.start('{"type":"snapshot"}')
        peak = 0
        for index in range(QUEUE_LIMIT * 4):
            hub.events.broadcast(1, {"type": "pin", "n": index})
            peak = max(peak, len(stuck.backlog or ()))
            if index % 50 == 0:
                await asyncio.sleep(0)  # let deliveries and the reading writer run
        await asyncio.sleep(0.05)
        for connection in (stuck, reading):
            await connection.stop()
        return hub, reading_socket, stuck, reading, peak

    return run_async(scenario())


def test_a_stuck_viewer_is_dropped_after_a_bounded_backlog() -> None:
    for direct in (False, True):
        hub, reading_socket, stuck, reading, peak = _scenario(direct)
        assert not stuck.open and peak <= QUEUE_LIMIT
        assert stuck not in hub.rooms[1].connections and hub.dropped == 1
        assert reading in hub.rooms[1].connections
        assert reading_socket.sent == 1 + QUEUE_LIMIT * 4  # the others got every frame
        # The close replaced the backlog: nothing more is kept for the stuck viewer (its
        # writer still waits for the peer to read the one frame in flight).
        assert list(stuck.backlog or ()) == [CLOSE_TOO_SLOW]
