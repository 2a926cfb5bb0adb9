"""The room's WebSocket endpoint: snapshot on connect, then events; chat and reactions in.

Protocol: docs/live-protocol.md, its messages typed in liveshop/live/frames.py. Buying and
moderation go through the HTTP API (they need idempotency keys and clear status codes);
their results arrive here as events.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import Awaitable
from urllib.parse import urlparse

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketState

from liveshop.accounts import sessions
from liveshop.accounts.model import Actor
from liveshop.core.db import utcnow
from liveshop.core.errors import DomainError
from liveshop.live import chat, snapshots
from liveshop.live.admission import address_key
from liveshop.live.deps import Live
from liveshop.live.frames import (
    ErrorFrame,
    Ping,
    PongFrame,
    React,
    Refusal,
    SendChat,
    encode,
    joiner_snapshot,
    parse_client_message,
)
from liveshop.live.model import epoch_ms
from liveshop.live.room import Hub
from liveshop.live.room_events import CLOSE_BANNED, CLOSE_TOO_SLOW
from liveshop.live.socket_writes import send_now_of
from liveshop.markets.model import MARKETS, market_from_accept_language
from liveshop.web.context import AppContext

router = APIRouter()

# Frames a socket may have waiting before it counts as too slow and is dropped.
QUEUE_LIMIT = 256
MAX_INCOMING_BYTES = 4096
REACTIONS_PER_SECOND = 10
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_ORIGIN = 4401
CLOSE_TOO_MANY_SOCKETS = 4429
# RFC 6455 §7.4.1: the endpoint received a type of data it cannot accept (a binary frame).
CLOSE_UNSUPPORTED_DATA = 1003


class SocketConnection:
    """One viewer's socket. A frame is written at once when the server offers direct writes
    (liveshop/live/socket_writes.py) and nothing is waiting; otherwise it joins a bounded backlog
    that a writer task, started only then, drains in order before direct writes resume.
    Frames offered before :meth:`start` wait in the backlog behind the snapshot."""

    # Thousands per process: no per-instance dict, and no queue or task until one is needed.
    __slots__ = ("backlog", "is_staff", "open", "send_now", "started", "user_id", "visitor_id",
                 "websocket", "writer")

    def __init__(self, websocket: WebSocket, actor: Actor | None, visitor_id: str,
                 is_staff: bool):
        self.websocket = websocket
        self.send_now = send_now_of(websocket.scope)
        self.user_id = actor.user_id if actor else None
        self.visitor_id = visitor_id
        self.is_staff = is_staff
        self.open = True
        self.started = False
        # Frames (and at most one close code, last) not written yet; None when nothing waits.
        self.backlog: deque[str | int] | None = deque()
        self.writer: asyncio.Task[None] | None = None

    def start(self, first: str) -> None:
        """Send ``first`` (the snapshot), then whatever was offered meanwhile."""
        assert self.backlog is not None and not self.started
        self.started = True
        self.backlog.appendleft(first)
        self._write_backlog_now()

    def offer(self, frame: str) -> bool:
        if not self.open:
            return False
        if self.backlog is None:
            if self.send_now is not None and self.send_now(frame):
                return True
            self.backlog = deque()
        elif len(self.backlog) >= QUEUE_LIMIT:
            self._close_behind(CLOSE_TOO_SLOW)
            return False
        self.backlog.append(frame)
        self._wake_writer()
        return True

    def close_soon(self, code: int) -> None:
        """Close after the frames already offered, unless too many wait (then at once)."""
        if not self.open:
            return
        if self.backlog is not None and len(self.backlog) >= QUEUE_LIMIT:
            self._close_behind(code)
            return
        self.open = False
        if self.backlog is None:
            self.backlog = deque()
        self.backlog.append(code)
        self._wake_writer()

    def _close_behind(self, code: int) -> None:
        # The peer is not reading: drop what waits for it and send only the close.
        self.open = False
        self.backlog = deque((code,))
        self._wake_writer()

    def _write_backlog_now(self) -> None:
        backlog = self.backlog
        assert backlog is not None
        if self.send_now is not None:
            while backlog and isinstance(backlog[0], str) and self.send_now(backlog[0]):
                backlog.popleft()
        if backlog:
            self._wake_writer()
        else:
            self.backlog = None

    def _wake_writer(self) -> None:
        if self.started and self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.backlog:
                item = self.backlog.popleft()
                if isinstance(item, int):
                    await self.websocket.close(code=item)
                    return
                await self.websocket.send_text(item)  # waits while the peer's buffer is full
            self.backlog = None
        except Exception:  # the peer is gone: the reader sees the disconnect and leaves
            self.open = False
        finally:
            self.writer = None

    async def stop(self) -> None:
        """The socket is done: stop writing."""
        self.open = False
        writer = self.writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


def _same_origin(websocket: WebSocket) -> bool:
    """Refuse cross-site pages riding on the viewer's cookies (WebSocket has no CORS)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlparse(origin).netloc == websocket.headers.get("host", "")


async def _who(websocket: WebSocket, context: AppContext) -> tuple[Actor | None, str, str]:
    session = websocket.session
    # Anonymous viewers (most of a big room) need no database and no worker thread.
    actor = await run_in_threadpool(sessions.cookie_actor, context.db, context.session_use,
                                    session) if sessions.is_signed_in(session) else None
    chosen = websocket.query_params.get("market") or session.get("market")
    market = chosen if isinstance(chosen, str) and chosen in MARKETS else (
        market_from_accept_language(websocket.headers.get("accept-language")).code)
    visitor = f"user:{actor.user_id}" if actor else (
        f"anon:{session.get('vid') or secrets.token_hex(8)}")
    return actor, market, visitor


async def _send_snapshot(context: AppContext, hub: Hub, connection: SocketConnection,
                         show_id: int, actor: Actor | None, market: str) -> None:
    """Start the socket with this joiner's snapshot. Call after joining the hub: the shared
    part may then be a snapshot of the room's current generation."""
    generation = hub.generation(show_id)

    def build() -> Awaitable[str]:
        return run_in_threadpool(lambda: encode(snapshots.room_snapshot(
            context.db, context.settings, show_id, market)))

    shared_part = (build() if generation is None
                   else hub.snapshots.shared(show_id, market, generation, build))
    if actor is None:
        shared, you = await shared_part, snapshots.ANONYMOUS_VIEWER
    else:
        shared, you = await asyncio.gather(shared_part, run_in_threadpool(
            snapshots.room_viewer, context.db, show_id, actor))
    connection.is_staff = you["can_moderate"]
    # Not kept in the caller's frame: the socket's coroutine outlives the snapshot by hours.
    connection.start(joiner_snapshot(shared, epoch_ms(utcnow()), hub.viewer_count(show_id),
                                     you))


@router.websocket("/ws/shows/{show_id}")
async def room(websocket: WebSocket, show_id: int, live: Live) -> None:
    # Accept first: a page sees the close code of an accepted socket, never the HTTP status
    # of a refused handshake (it would only see 1006 and reconnect forever).
    await websocket.accept()
    if not _same_origin(websocket):
        await websocket.close(code=CLOSE_BAD_ORIGIN, reason="Connect from this site")
        return
    # Counted before any work is done for the socket; signed-in users by the session's
    # user id (no database), everyone by address.
    allowance = live.socket_allowance
    address = address_key(websocket.client.host if websocket.client else None)
    user_id = websocket.session.get("uid")
    user_id = user_id if isinstance(user_id, int) else None
    if not allowance.take(address, user_id):
        too_many: ErrorFrame = {
            "type": "error", "code": "too_many_sockets",
            "message": "Too many live rooms are open from here; close one and this one "
                       "reconnects"}
        await websocket.send_text(encode(too_many))
        await websocket.close(code=CLOSE_TOO_MANY_SOCKETS)
        return
    try:
        await _serve_room(websocket, show_id, live.context, live.hub)
    finally:
        allowance.give_back(address, user_id)


async def _serve_room(websocket: WebSocket, show_id: int, context: AppContext, hub: Hub
                      ) -> None:
    actor, market, visitor = await _who(websocket, context)
    try:
        if actor is not None and await run_in_threadpool(
                chat.is_banned, context.db, show_id, actor.user_id):
            banned: ErrorFrame = {"type": "error", "code": "banned",
                                  "message": "You are banned from this shop's shows"}
            await websocket.send_text(encode(banned))
            await websocket.close(code=CLOSE_BANNED)
            return
    except DomainError:
        await websocket.close(code=CLOSE_NOT_FOUND)
        return

    connection = SocketConnection(websocket, actor, visitor, is_staff=False)
    # Join before the snapshot so nothing published meanwhile is lost (the client
    # de-duplicates chat by id); what arrives meanwhile waits behind the snapshot.
    hub.join(show_id, connection)
    try:
        await hub.ready(show_id)
        try:
            await _send_snapshot(context, hub, connection, show_id, actor, market)
        except DomainError:
            await websocket.close(code=CLOSE_NOT_FOUND)
            return
        await _read_forever(websocket, context, hub, connection, show_id, actor)
        # It sent a binary frame: the protocol is JSON text. Frames still waiting for it
        # are dropped; the close says why (unless a close, e.g. a ban's, went out first).
        await connection.stop()
        if websocket.application_state is WebSocketState.CONNECTED:
            await websocket.close(code=CLOSE_UNSUPPORTED_DATA, reason="Send JSON text frames")
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(show_id, connection)
        await connection.stop()


async def _read_forever(websocket: WebSocket, context: AppContext, hub: Hub,
                        connection: SocketConnection, show_id: int,
                        actor: Actor | None) -> None:
    """Handle the client's messages until it disconnects (raises WebSocketDisconnect) or
    sends a binary frame (returns)."""
    reactions_window, reactions = time.monotonic(), 0
    while True:
        received = await websocket.receive()
        raw = received.get("text")
        if not isinstance(raw, str):
            if received["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(received.get("code", 1000), received.get("reason"))
            return
        if len(raw) > MAX_INCOMING_BYTES:
            connection.offer(encode(Refusal("too_large", "Message too large", None).frame()))
            continue
        message = parse_client_message(raw)
        if isinstance(message, Refusal):
            connection.offer(encode(message.frame()))
        elif isinstance(message, Ping):
            pong: PongFrame = {"type": "pong", "server_time": epoch_ms(utcnow()),
                               "ref": message.ref}
            connection.offer(encode(pong))
        elif isinstance(message, React):
            now = time.monotonic()
            if now - reactions_window >= 1:
                reactions_window, reactions = now, 0
            reactions += 1
            if reactions <= REACTIONS_PER_SECOND:
                hub.react(show_id)
        elif isinstance(message, SendChat):
            await _post_chat(context, connection, actor, show_id, message)


async def _post_chat(context: AppContext, connection: SocketConnection, actor: Actor | None,
                     show_id: int, message: SendChat) -> None:
    """Post as the chat API posts (the room hears it once committed), or answer why not."""
    refused: Refusal | None = None
    if actor is None:
        refused = Refusal("not_authenticated", "Log in to chat", "text", message.ref)
    else:
        try:
            await run_in_threadpool(chat.post_chat, context.db, context.limiter, actor,
                                    show_id, message.text)
        except DomainError as error:
            refused = Refusal(error.code, error.message, error.field, message.ref)
    if refused is not None:
        connection.offer(encode(refused.frame()))
