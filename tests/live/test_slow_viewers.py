"""A viewer that stops reading cannot grow server memory or hold up the others."""

from __future__ import annotations

import asyncio
from typing import Any

from liveshop.live.hub import CLOSE_TOO_SLOW
from liveshop.live.runtime import create_hub
from liveshop.live.ws import QUEUE_LIMIT, SocketConnection
from tests.conftest import run_async


class StuckSocket:
    """A socket whose peer never reads: every send waits forever."""

    def __init__(self) -> None:
        self.closed_with: int | None = None
        self.sent = 0

    async def send_text(self, frame: str) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int) -> None:
        self.closed_with = code


class ReadingSocket(StuckSocket):
    async def send_text(self, frame: str) -> None:
        self.sent += 1


def test_a_stuck_viewer_is_dropped_after_a_bounded_backlog() -> None:
    async def scenario() -> tuple[Any, Any, SocketConnection, SocketConnection, int]:
        hub = create_hub()
        await hub.broker.start(asyncio.get_running_loop())
        stuck_socket, reading_socket = StuckSocket(), ReadingSocket()
        stuck = SocketConnection(stuck_socket, None, "anon:stuck", False)  # type: ignore[arg-type]
        reading = SocketConnection(reading_socket, None, "anon:ok", False)  # type: ignore[arg-type]
        writers = [asyncio.create_task(c.write_forever()) for c in (stuck, reading)]
        hub.join(1, stuck)
        hub.join(1, reading)
        for index in range(QUEUE_LIMIT * 4):
            hub.events.broadcast(1, {"type": "pin", "n": index})
            if index % 50 == 0:
                await asyncio.sleep(0)  # let deliveries and the reading writer run
        await asyncio.sleep(0.05)
        peak = stuck.queue.qsize()
        writers[1].cancel()
        await asyncio.gather(*writers[1:], return_exceptions=True)
        writers[0].cancel()
        return hub, reading_socket, stuck, reading, peak

    hub, reading_socket, stuck, reading, peak = run_async(scenario())
    assert not stuck.open and peak <= QUEUE_LIMIT
    assert stuck not in hub.rooms[1].connections and hub.dropped == 1
    assert reading in hub.rooms[1].connections
    assert reading_socket.sent == QUEUE_LIMIT * 4  # the others got every frame
    # The close frame replaced the backlog: nothing more is buffered for the stuck viewer.
    assert stuck.queue.qsize() == 1 and stuck.queue.get_nowait() == CLOSE_TOO_SLOW
