"""Shutting down and serving video without noise: no CancelledError traceback from an RTMP
connection cut off by shutdown, and HLS requests kept out of the access log at INFO."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import pytest

from liveshop.app import create_app
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.video.rtmp import RTMPConnection, serve_rtmp
from tests.conftest import run_async

# uvicorn's access log (named here, not imported, so the test runs against any version).
ACCESS_LOGGER = "uvicorn.access"
# The packager's close: ffmpeg writing its last segment and exiting.
FLUSH_SECONDS = 0.3


class StubRuntime:
    """What an RTMP connection asks of the video runtime, recording what happened."""

    def __init__(self) -> None:
        self.connections: list[asyncio.Task[None]] = []
        self.closed = False

    def track_connection(self, task: asyncio.Task[None]) -> None:
        self.connections.append(task)

    async def close(self, session: Any) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        self.closed = True


async def _until(check: Any) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


def test_a_connection_cancelled_by_shutdown_ends_without_a_traceback() -> None:
    async def scenario() -> list[dict[str, Any]]:
        reported: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: reported.append(context))
        runtime = StubRuntime()
        server = await serve_rtmp(runtime, "127.0.0.1", 0)  # type: ignore[arg-type]
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await _until(lambda: runtime.connections)
        # What VideoRuntime.stop does: close the server, cancel the connections, wait.
        server.close()
        for task in runtime.connections:
            task.cancel()
        await asyncio.gather(*runtime.connections, return_exceptions=True)
        writer.close()
        await asyncio.sleep(0.05)  # the server's done-callbacks run
        return reported

    reported = run_async(scenario())
    assert [context.get("message") for context in reported] == []


def test_a_connection_cancelled_while_closing_lets_the_packager_finish() -> None:
    """Cancelled a second time while its publisher's packager flushes (the publisher left
    as the app shut down): the flush still runs to its end."""

    async def scenario() -> tuple[bool, bool]:
        runtime = StubRuntime()
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=ours)
        connection = RTMPConnection(runtime, reader, writer)  # type: ignore[arg-type]
        connection.publish = object()  # type: ignore[assignment]
        task = asyncio.create_task(connection.run())
        await asyncio.sleep(0.05)  # waiting for the handshake
        task.cancel()
        await asyncio.sleep(FLUSH_SECONDS / 3)  # closing now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        theirs.close()
        return runtime.closed, task.cancelled()

    closed, cancelled = run_async(scenario())
    assert closed and cancelled


@pytest.fixture
def serving_app(settings: Settings, db: Database) -> Any:
    return create_app(settings.model_copy(update={"secret_key": "s" * 64}), db,
                      serving_process=True)


def _access_line(path: str, status: int = 200) -> None:
    # As uvicorn.protocols.http logs a request.
    logging.getLogger(ACCESS_LOGGER).info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                                          path, "1.1", status)


def test_hls_requests_stay_out_of_the_access_log_at_info(
        serving_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Built as a serving process is (liveshop.main), the app quiets them."""
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    for segment in range(5):
        _access_line("/video/1/live/index.m3u8")
        _access_line(f"/video/1/live/s{segment}.ts")
    _access_line("/video/1/live/s9.ts", 500)
    _access_line("/shows/1")
    logged = [record.getMessage() for record in caplog.records
              if record.name == ACCESS_LOGGER]
    assert logged == ['127.0.0.1:5000 - "GET /video/1/live/s9.ts HTTP/1.1" 500',
                      '127.0.0.1:5000 - "GET /shows/1 HTTP/1.1" 200']

    caplog.clear()
    caplog.set_level(logging.DEBUG, logger=ACCESS_LOGGER)
    _access_line("/video/1/live/s7.ts")
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("DEBUG", '127.0.0.1:5000 - "GET /video/1/live/s7.ts HTTP/1.1" 200')]
