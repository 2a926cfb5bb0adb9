"""Fan-out of room events to this process's sockets.

Every change is published once to the broker; each app process's hub receives it and
offers the same encoded frame to each of its sockets without awaiting any one of them (a
socket writes it at once, or queues it while its peer is slow; a socket whose queue is full
has fallen behind and is dropped: it reconnects and gets a fresh snapshot). One task offers
the frames in order, a chunk of sockets per turn of the event loop, so requests keep being
served during a pass over thousands of sockets. Chat is batched into one frame per tick,
reactions are summed, stock is coalesced and the viewer count is sent at most once a second,
so frames per viewer stay low however busy the room is.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from liveshop.live.broker import Broker, InProcessBroker, RedisBroker
from liveshop.live.frames import ChatMessage, StockFrame, encode
from liveshop.live.presence import RedisPresence
from liveshop.live.room_events import (
    CLOSE_BANNED,
    Envelope,
    RoomEvents,
    StockUpdate,
    channel_of,
)
from liveshop.live.snapshots import SnapshotCache

log = logging.getLogger("liveshop.live")

CHAT_TICK_SECONDS = 0.15
STOCK_INTERVAL_SECONDS = 0.5
VIEWERS_INTERVAL_SECONDS = 1.0
# Sockets offered a frame per turn of the event loop: few enough that requests are served
# between the chunks of a pass over thousands of sockets.
FANOUT_CHUNK = 500


def merge_stock(older: StockUpdate | None, newer: StockUpdate) -> StockUpdate:
    """Coalesce stock updates. Updates carry versions (variants: {id: [available, version]},
    sale: {id, remaining, v}) because purchases publish concurrently and may arrive out of
    order: the higher version wins."""
    variants = dict((older or {}).get("variants", {}))
    for variant_id, (available, version) in newer.get("variants", {}).items():
        current = variants.get(variant_id)
        if current is None or version >= current[1]:
            variants[variant_id] = [available, version]
    merged: StockUpdate = {"variants": variants, "sale": (older or {}).get("sale")}
    sale = newer.get("sale")
    current_sale = merged["sale"]
    if sale is not None and (current_sale is None or current_sale["id"] != sale["id"]
                             or sale["v"] >= current_sale["v"]):
        merged["sale"] = sale
    return merged


class Connection(Protocol):
    user_id: int | None
    visitor_id: str
    is_staff: bool

    def offer(self, frame: str) -> bool:
        """Send a frame without waiting; False means the client fell behind (dropped)."""

    def close_soon(self, code: int) -> None:
        """Close after the frames already queued have been written."""


@dataclass
class Room:
    show_id: int
    # Changes with every event that could change the room's snapshot (liveshop/live/snapshots.py).
    generation: int
    connections: set[Connection] = field(default_factory=set)
    visitors: dict[str, int] = field(default_factory=dict)
    pending_chat: list[ChatMessage] = field(default_factory=list)
    pending_hearts: int = 0
    # Reactions counted here since the last tick, published by the hub itself.
    local_hearts: int = 0
    latest_stock: StockUpdate | None = None
    stock_sent_at: float = 0.0
    # Versions already sent, so a late, older update is never shown after a newer one.
    sent_versions: dict[str, int] = field(default_factory=dict)
    viewers_sent: int = -1
    viewers_sent_at: float = 0.0
    # The count across every process, when a shared presence store is configured.
    shared_viewers: int | None = None

    @property
    def viewer_count(self) -> int:
        """Unique viewers: several tabs or a reconnect of one person count once."""
        if self.shared_viewers is not None:
            return max(self.shared_viewers, len(self.visitors))
        return len(self.visitors)


class Presence(Protocol):
    async def refresh(self, show_id: int, visitors: set[str]) -> int: ...

    async def forget(self, show_id: int, visitor: str) -> None: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Delivery:
    room: Room
    frame: str
    only: Callable[[Connection], bool] | None
    then: Callable[[], None] | None


class Hub:
    def __init__(self, broker: Broker, events: RoomEvents, presence: Presence | None = None):
        self.broker = broker
        self.events = events
        self.presence = presence
        self.rooms: dict[int, Room] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._outbox: deque[_Delivery] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropped = 0
        # Unique across rooms that close and reopen, so a snapshot of an earlier room of the
        # same show never passes for a current one.
        self._generations = itertools.count()
        self.snapshots = SnapshotCache()
        self._on_message: Callable[[str, bytes], None] = self._receive

    # --- lifecycle ---

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever(), name="live-hub-flusher")

    async def stop(self) -> None:
        for task in (self._flusher, self._sender):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._outbox.clear()
        for show_id in list(self.rooms):
            self.broker.unsubscribe(channel_of(show_id), self._on_message)
        self.rooms.clear()
        if self.presence is not None:
            await self.presence.close()

    # --- membership ---

    def join(self, show_id: int, connection: Connection) -> Room:
        room = self.rooms.get(show_id)
        if room is None:
            room = self.rooms[show_id] = Room(show_id, next(self._generations))
            self.broker.subscribe(channel_of(show_id), self._on_message)
        room.connections.add(connection)
        room.visitors[connection.visitor_id] = room.visitors.get(connection.visitor_id, 0) + 1
        return room

    async def ready(self, show_id: int) -> None:
        """Wait until this process receives the room's events (Redis confirms quickly)."""
        await self.broker.wait_subscribed(channel_of(show_id))

    def resync_all(self) -> None:
        """Events may have been lost (the broker reconnected): ask every viewer to reload."""
        frame = encode({"type": "resync"})
        for room in list(self.rooms.values()):
            room.generation = next(self._generations)  # shared snapshots may lack them too
            self._deliver(room, frame)

    def leave(self, show_id: int, connection: Connection) -> None:
        room = self.rooms.get(show_id)
        if room is None or connection not in room.connections:
            return
        room.connections.discard(connection)
        remaining = room.visitors.get(connection.visitor_id, 1) - 1
        if remaining <= 0:
            room.visitors.pop(connection.visitor_id, None)
            if self.presence is not None:
                self._background(self.presence.forget(show_id, connection.visitor_id))
        else:
            room.visitors[connection.visitor_id] = remaining
        if not room.connections:
            self.broker.unsubscribe(channel_of(show_id), self._on_message)
            del self.rooms[show_id]

    def generation(self, show_id: int) -> int | None:
        room = self.rooms.get(show_id)
        return room.generation if room else None

    def viewer_count(self, show_id: int) -> int:
        room = self.rooms.get(show_id)
        return room.viewer_count if room else 0

    def react(self, show_id: int, count: int = 1) -> None:
        """A viewer tapped a heart: summed here, published once per tick."""
        room = self.rooms.get(show_id)
        if room is not None:
            room.local_hearts += count

    # --- delivery ---

    def _receive(self, channel: str, message: bytes) -> None:
        envelope: Envelope = json.loads(message)
        show_id = int(channel.rsplit(":", 1)[1])
        room = self.rooms.get(show_id)
        if room is None:
            return
        if envelope["to"] != "hearts":  # reactions are not part of the snapshot
            room.generation = next(self._generations)
        if envelope["to"] == "chat":
            room.pending_chat.append(envelope["message"])
        elif envelope["to"] == "stock":
            room.latest_stock = merge_stock(room.latest_stock, envelope["stock"])
        elif envelope["to"] == "hearts":
            room.pending_hearts += int(envelope["count"])
        elif envelope["to"] == "all":
            self._deliver(room, encode(envelope["event"]))
        elif envelope["to"] == "staff":
            self._deliver(room, encode(envelope["event"]), lambda c: c.is_staff)
        elif envelope["to"] == "user":
            user, code = envelope["user"], int(envelope.get("close", CLOSE_BANNED))
            self._deliver(room, encode(envelope["event"]), lambda c: c.user_id == user,
                          then=(lambda: self._disconnect(room, user, code))
                          if envelope.get("disconnect") else None)

    def _disconnect(self, room: Room, user_id: int, code: int) -> None:
        for connection in [c for c in room.connections if c.user_id == user_id]:
            connection.close_soon(code)
            self.leave(room.show_id, connection)

    def _deliver(self, room: Room, frame: str,
                 only: Callable[[Connection], bool] | None = None,
                 then: Callable[[], None] | None = None) -> None:
        """Frames go out in the order they are delivered, by one task (see _send_outbox)."""
        self._outbox.append(_Delivery(room, frame, only, then))
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_outbox())

    async def _send_outbox(self) -> None:
        """Offer each frame to its room's sockets, a chunk of sockets per turn of the event
        loop: a pass over thousands of sockets takes tens of milliseconds, and the requests
        that publish the next events (chat posts, purchases) must not wait for all of it."""
        try:
            while self._outbox:
                try:
                    await self._offer(self._outbox.popleft())
                except Exception:  # one bad delivery must not stop the ones behind it
                    log.exception("live hub delivery failed")
        finally:
            self._sender = None

    async def _offer(self, delivery: _Delivery) -> None:
        room, only = delivery.room, delivery.only
        connections = list(room.connections)
        for start in range(0, len(connections), FANOUT_CHUNK):
            if start:
                await asyncio.sleep(0)
            for connection in connections[start:start + FANOUT_CHUNK]:
                if connection not in room.connections or (
                        only is not None and not only(connection)):
                    continue  # left meanwhile, or not an addressee
                if not connection.offer(delivery.frame):
                    self.dropped += 1
                    self.leave(room.show_id, connection)
        if delivery.then is not None:
            delivery.then()

    def flush(self, now: float | None = None) -> None:
        """Send what accumulated since the last tick (called by the flusher)."""
        now = time.monotonic() if now is None else now
        for room in list(self.rooms.values()):
            if room.local_hearts:
                # Counted in memory, not committed by a use case: published directly.
                self.events.hearts(room.show_id, room.local_hearts)
                room.local_hearts = 0
            if room.pending_chat:
                messages, room.pending_chat = room.pending_chat, []
                self._deliver(room, encode({"type": "chat", "messages": messages}))
            if room.pending_hearts:
                count, room.pending_hearts = room.pending_hearts, 0
                self._deliver(room, encode({"type": "hearts", "count": count}))
            if room.latest_stock and now - room.stock_sent_at >= STOCK_INTERVAL_SECONDS:
                stock, room.latest_stock = room.latest_stock, None
                room.stock_sent_at = now
                frame = self._fresh_stock(room, stock)
                if frame is not None:
                    self._deliver(room, encode(frame))
            if (room.viewer_count != room.viewers_sent
                    and now - room.viewers_sent_at >= VIEWERS_INTERVAL_SECONDS):
                room.viewers_sent, room.viewers_sent_at = room.viewer_count, now
                self._deliver(room, encode({"type": "viewers", "count": room.viewer_count}))

    @staticmethod
    def _fresh_stock(room: Room, stock: StockUpdate) -> StockFrame | None:
        variants = {}
        for variant_id, (available, version) in stock.get("variants", {}).items():
            if version > room.sent_versions.get(f"variant:{variant_id}", -1):
                room.sent_versions[f"variant:{variant_id}"] = version
                variants[variant_id] = available
        frame: StockFrame = {"type": "stock", "variants": variants}
        sale = stock.get("sale")
        if sale is not None and sale["v"] > room.sent_versions.get(f"sale:{sale['id']}", -1):
            room.sent_versions[f"sale:{sale['id']}"] = sale["v"]
            frame["sale"] = {"id": sale["id"], "remaining": sale["remaining"]}
        return frame if variants or "sale" in frame else None

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _share_presence(self) -> None:
        assert self.presence is not None
        for room in list(self.rooms.values()):
            room.shared_viewers = await self.presence.refresh(room.show_id, set(room.visitors))

    async def _flush_forever(self) -> None:
        next_presence = 0.0
        next_tick = time.monotonic()
        while True:
            # Ticks keep their pace however long a flush to thousands of sockets takes.
            next_tick = max(next_tick + CHAT_TICK_SECONDS, time.monotonic())
            await asyncio.sleep(next_tick - time.monotonic())
            try:
                if self.presence is not None and time.monotonic() >= next_presence:
                    next_presence = time.monotonic() + VIEWERS_INTERVAL_SECONDS
                    await self._share_presence()
                self.flush()
            except Exception:  # one bad tick (e.g. Redis restarting) must not stop every room
                log.exception("live hub flush failed")


def create_hub(redis_url: str | None = None) -> Hub:
    """This process's hub: on Redis when a URL is given (several processes share rooms),
    else in-process."""
    if not redis_url:
        broker: Broker = InProcessBroker()
        return Hub(broker, RoomEvents(broker))
    redis_broker = RedisBroker(redis_url)
    hub = Hub(redis_broker, RoomEvents(redis_broker), RedisPresence(redis_url))
    redis_broker.on_resubscribe = hub.resync_all
    return hub


@contextlib.asynccontextmanager
async def serving(hub: Hub) -> AsyncIterator[None]:
    """The hub and its broker running on this event loop for the duration of the block."""
    await hub.broker.start(asyncio.get_running_loop())
    await hub.start()
    try:
        yield
    finally:
        await hub.stop()
        await hub.broker.stop()
