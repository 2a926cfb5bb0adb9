"""Rooms shared across processes through Redis pub/sub (real Redis)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from liveshop.live.room import Hub, create_hub
from tests.conftest import run_async


@dataclass(eq=False)
class Viewer:
    visitor_id: str
    user_id: int | None = None
    is_staff: bool = False
    frames: list[str] = field(default_factory=list)

    def offer(self, frame: str) -> bool:
        self.frames.append(frame)
        return True

    def close_soon(self, code: int) -> None:
        return None


async def started(hub: Hub) -> Hub:
    await hub.broker.start(asyncio.get_running_loop())
    await hub.start()
    return hub


async def wait_for(viewer: Viewer, text: str, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in frame for frame in viewer.frames):
        assert time.monotonic() < deadline, f"{text!r} not delivered; got {viewer.frames}"
        await asyncio.sleep(0.02)


def test_an_event_published_by_one_process_reaches_viewers_of_another(redis_url: str) -> None:
    async def scenario() -> None:
        process_a, process_b = await started(create_hub(redis_url)), await started(
            create_hub(redis_url))
        try:
            viewer = Viewer("user:1")
            process_a.join(4242, viewer)
            await process_a.ready(4242)
            process_b.events.broadcast(4242, {"type": "pin", "product": {"id": 7}})
            process_b.events.chat(4242, {"id": 1, "text": "hello from B"})
            process_b.events.stock(4242, {"variants": {"9": [3, 5]}})
            await wait_for(viewer, '"type":"pin"')
            await wait_for(viewer, "hello from B")
            await wait_for(viewer, '"variants":{"9":3}')
            assert sum('"type":"pin"' in frame for frame in viewer.frames) == 1
        finally:
            for hub in (process_a, process_b):
                await hub.stop()
                await hub.broker.stop()

    run_async(scenario())


@pytest.fixture
def own_redis(redis_server_url: str) -> Iterator[tuple[str, Any]]:
    """A throw-away redis-server this test may kill and restart (it needs no turn on the
    shared one)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed (Debian package redis-server)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def start() -> subprocess.Popen[bytes]:
        server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no"],
                                  stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while True:
            try:
                redis.Redis(port=port).ping()
                return server
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    servers = [start()]
    yield f"redis://127.0.0.1:{port}/0", lambda: servers.append(start())
    for server in servers:
        server.kill()
        server.wait()


def test_rooms_recover_after_redis_restarts(own_redis: tuple[str, Any]) -> None:
    url, restart = own_redis

    async def scenario() -> None:
        process_a, process_b = await started(create_hub(url)), await started(create_hub(url))
        try:
            viewer = Viewer("user:1")
            process_a.join(7, viewer)
            await process_a.ready(7)
            process_b.events.broadcast(7, {"type": "pin", "n": 1})
            await wait_for(viewer, '"n":1')
            subprocess.run(["redis-cli", "-u", url, "shutdown", "nosave"], check=False,
                           capture_output=True)
            await asyncio.sleep(0.5)
            process_b.events.broadcast(7, {"type": "pin", "n": 2})  # lost: Redis is down
            await asyncio.to_thread(restart)
            await wait_for(viewer, '"type":"resync"', timeout=10)
            process_b.events.broadcast(7, {"type": "pin", "n": 3})
            await wait_for(viewer, '"n":3')
            assert not any('"n":2' in frame for frame in viewer.frames)
        finally:
            for hub in (process_a, process_b):
                await hub.stop()
                await hub.broker.stop()

    run_async(scenario())


def test_viewer_count_is_unique_people_across_processes(redis_url: str) -> None:
    async def scenario() -> None:
        process_a, process_b = await started(create_hub(redis_url)), await started(
            create_hub(redis_url))
        show = int(time.time() * 1000) % 1_000_000_000  # a fresh room for this run
        try:
            process_a.join(show, Viewer("user:1"))
            process_a.join(show, Viewer("user:1"))  # a second tab
            process_b.join(show, Viewer("user:1"))  # and a third, through another process
            process_b.join(show, Viewer("user:2"))
            deadline = time.monotonic() + 5
            while {process_a.viewer_count(show), process_b.viewer_count(show)} != {2}:
                assert time.monotonic() < deadline, (
                    process_a.viewer_count(show), process_b.viewer_count(show))
                await asyncio.sleep(0.1)
        finally:
            for hub in (process_a, process_b):
                await hub.stop()
                await hub.broker.stop()

    run_async(scenario())
