"""Publish/subscribe between the services that change a room and the processes holding
its sockets. In-process by default; a Redis broker (same interface) lets several app
processes share one room.

``publish`` is synchronous, thread-safe and does not wait for delivery: services run in
worker threads and publish right after their transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

Handler = Callable[[str, bytes], None]
log = logging.getLogger("liveshop.live")


class Broker(Protocol):
    def publish(self, channel: str, message: bytes) -> None:
        """Send to every subscriber of the channel, in every process."""

    def subscribe(self, channel: str, handler: Handler) -> None:
        """Call ``handler(channel, message)`` on the event loop for each message."""

    def unsubscribe(self, channel: str, handler: Handler) -> None: ...

    async def wait_subscribed(self, channel: str) -> None:
        """Return once messages published from now on will reach this process."""

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

    async def wait_subscribed(self, channel: str) -> None:
        return None

    def unsubscribe(self, channel: str, handler: Handler) -> None:
        with self._lock:
            handlers = self._handlers.get(channel, [])
            if handler in handlers:
                handlers.remove(handler)
            if not handlers:
                self._handlers.pop(channel, None)


class RedisBroker:
    """Redis pub/sub, so every app process sees every room event once.

    Publishing (from worker threads) uses a blocking client; one asyncio task per process
    reads the subscription and hands messages to the hub on the event loop. If Redis goes
    away the reader reconnects with backoff, subscribes again and calls ``on_resubscribe``
    so rooms can tell their viewers to fetch a fresh snapshot (events sent meanwhile were
    lost, not duplicated: buying is idempotent over HTTP and never replayed from here).
    """

    def __init__(self, url: str, on_resubscribe: Callable[[], None] | None = None):
        import redis
        import redis.asyncio as aioredis

        self.url = url
        self._publisher = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._aioredis = aioredis
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self.on_resubscribe = on_resubscribe
        self.connected = False

    async def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._reader = asyncio.create_task(self._read_forever(), name="redis-broker")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self._loop = None
        self._publisher.close()

    def publish(self, channel: str, message: bytes) -> None:
        try:
            self._publisher.publish(channel, message)
        except Exception:  # Redis down: the event is lost, the request that made it is not
            log.warning("could not publish to %s; Redis unavailable", channel)

    def subscribe(self, channel: str, handler: Handler) -> None:
        # The reader task picks new channels up on its next turn (within 50 ms).
        with self._lock:
            self._handlers[channel].append(handler)

    def unsubscribe(self, channel: str, handler: Handler) -> None:
        with self._lock:
            handlers = self._handlers.get(channel, [])
            if handler in handlers:
                handlers.remove(handler)
            if not handlers:
                self._handlers.pop(channel, None)

    def _channels(self) -> set[str]:
        with self._lock:
            return set(self._handlers)

    async def wait_subscribed(self, channel: str) -> None:
        deadline = asyncio.get_running_loop().time() + 2.0
        while asyncio.get_running_loop().time() < deadline:
            pubsub = self._pubsub
            if pubsub is not None and channel.encode() in pubsub.channels:
                return
            await asyncio.sleep(0.01)

    async def _read_forever(self) -> None:
        backoff = 0.2
        first_connection = True
        while True:
            client = self._aioredis.Redis.from_url(self.url)
            pubsub = client.pubsub()
            try:
                subscribed: set[str] = set()
                await pubsub.subscribe("liveshop:control")
                self._pubsub, self.connected, backoff = pubsub, True, 0.2
                if not first_connection and self.on_resubscribe is not None:
                    self.on_resubscribe()
                first_connection = False
                while True:
                    wanted = self._channels()
                    if wanted - subscribed:
                        await pubsub.subscribe(*(wanted - subscribed))
                    if subscribed - wanted:
                        await pubsub.unsubscribe(*(subscribed - wanted))
                    subscribed = wanted
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=0.05)
                    if message is not None and message["type"] == "message":
                        channel = message["channel"].decode()
                        with self._lock:
                            handlers = list(self._handlers.get(channel, ()))
                        for handler in handlers:
                            handler(channel, message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.connected, self._pubsub = False, None
                log.warning("Redis broker lost its connection (%s); retrying in %.1f s",
                            error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                    await client.aclose()
