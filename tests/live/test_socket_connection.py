"""How a room socket writes: directly when the server allows it and nothing waits, else
through a backlog drained in order by a writer task that exists only while there is one."""

from __future__ import annotations

import asyncio
from typing import Any

from liveshop.live.room_socket import SocketConnection
from liveshop.live.socket_writes import SEND_NOW
from tests.conftest import run_async


class FakeSocket:
    """Records what is written directly (``direct``) and through ASGI sends (``sent``).
    ``accepting`` is whether the transport takes a direct write now; ``release`` lets
    awaited sends finish (they wait, like a server's send while the peer is slow)."""

    def __init__(self, direct: bool = True) -> None:
        self.scope: dict[str, Any] = {"extensions": {}}
        if direct:
            self.scope["extensions"][SEND_NOW] = {"send": self._send_now}
        self.accepting = True
        self.release = asyncio.Event()
        self.release.set()
        self.direct: list[str] = []
        self.sent: list[str] = []
        self.closed_with: int | None = None

    def _send_now(self, frame: str) -> bool:
        if self.accepting:
            self.direct.append(frame)
        return self.accepting

    @property
    def received(self) -> list[str]:
        """What the peer gets, in order (a test writes through one path at a time)."""
        return self.direct + self.sent

    async def send_text(self, frame: str) -> None:
        await self.release.wait()
        self.sent.append(frame)

    async def close(self, code: int) -> None:
        self.closed_with = code


def connection_on(socket: FakeSocket) -> SocketConnection:
    return SocketConnection(socket, None, "anon:test", False)  # type: ignore[arg-type]


def test_frames_are_written_directly_without_a_task_when_the_server_allows() -> None:
    async def scenario() -> FakeSocket:
        socket = FakeSocket()
        connection = connection_on(socket)
        connection.start("snapshot")
        for index in range(3):
            assert connection.offer(f"event {index}")
            assert connection.writer is None and connection.backlog is None
        return socket

    socket = run_async(scenario())
    assert socket.direct == ["snapshot", "event 0", "event 1", "event 2"] and not socket.sent


def test_frames_offered_while_the_snapshot_is_built_follow_it() -> None:
    async def scenario() -> FakeSocket:
        socket = FakeSocket()
        connection = connection_on(socket)
        connection.offer("early 1")
        connection.offer("early 2")
        assert not socket.direct  # nothing before the snapshot
        connection.start("snapshot")
        connection.offer("later")
        return socket

    assert run_async(scenario()).direct == ["snapshot", "early 1", "early 2", "later"]


def test_a_backed_up_socket_queues_in_order_then_writes_directly_again() -> None:
    async def scenario() -> tuple[FakeSocket, SocketConnection, list[str]]:
        socket = FakeSocket()
        connection = connection_on(socket)
        connection.start("snapshot")
        socket.accepting, socket.release = False, asyncio.Event()  # the peer's buffer is full
        connection.offer("queued 1")
        socket.accepting = True  # direct writes would work again, but a backlog exists
        connection.offer("queued 2")
        assert connection.writer is not None and socket.direct == ["snapshot"]
        socket.release.set()
        writer = connection.writer
        await writer
        after_backlog = list(socket.sent)
        connection.offer("direct again")
        return socket, connection, after_backlog

    socket, connection, after_backlog = run_async(scenario())
    assert after_backlog == ["queued 1", "queued 2"]
    assert socket.direct == ["snapshot", "direct again"]
    assert connection.writer is None and connection.backlog is None


def test_without_direct_writes_a_writer_task_drains_and_then_ends() -> None:
    async def scenario() -> tuple[FakeSocket, SocketConnection]:
        socket = FakeSocket(direct=False)
        connection = connection_on(socket)
        connection.start("snapshot")
        connection.offer("one")
        connection.close_soon(4403)
        assert not connection.offer("after the close")
        writer = connection.writer
        assert writer is not None
        await writer
        return socket, connection

    socket, connection = run_async(scenario())
    assert socket.sent == ["snapshot", "one"] and socket.closed_with == 4403
    assert connection.writer is None
