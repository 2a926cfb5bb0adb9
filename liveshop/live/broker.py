"""Publish/subscribe between the services that change a room and the processes holding
its sockets. In-process by default; a Redis broker (same interface) lets several app
processes share one room.

``publish`` is synchronous, thread-safe and does not wait for delivery: services run in
worker threads and publish right after their transaction commits.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

Handler = Callable[[str, bytes], None]


class Broker(Protocol):
    def publish(self, channel: str, message: bytes) -> None:
        """Send to every subscriber of the channel, in every process."""

    def subscribe(self, channel: str, handler: Handler) -> None:
        """Call ``handler(channel, message)`` on the event loop for each message."""

    def unsubscribe(self, channel: str, handler: Handler) -> None: ...

    async def start(self, loop: asyncio.AbstractEventLoop) -> None: ...

    async def stop(self) -> None: ...


class InProcessBroker:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def stop(self) -> None:
        self._loop = None

    def publish(self, channel: str, message: bytes) -> None:
        loop = self._loop
        if loop is None:
            return  # no event loop yet: nobody can be connected
        with self._lock:
            handlers = list(self._handlers.get(channel, ()))
        for handler in handlers:
            loop.call_soon_threadsafe(handler, channel, message)

    def subscribe(self, channel: str, handler: Handler) -> None:
        with self._lock:
            self._handlers[channel].append(handler)

    def unsubscribe(self, channel: str, handler: Handler) -> None:
        with self._lock:
            handlers = self._handlers.get(channel, [])
            if handler in handlers:
                handlers.remove(handler)
            if not handlers:
                self._handlers.pop(channel, None)
