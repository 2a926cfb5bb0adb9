"""The room's WebSocket endpoint: snapshot on connect, then events; chat and reactions in.

Protocol: docs/live-protocol.md. Buying and moderation go through the HTTP API (they need
idempotency keys and clear status codes); their results arrive here as events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from liveshop.accounts import service as accounts
from liveshop.accounts.model import Actor
from liveshop.core.db import utcnow
from liveshop.core.errors import DomainError
from liveshop.live import service
from liveshop.live.hub import CLOSE_BANNED, CLOSE_TOO_SLOW, Hub, encode
from liveshop.live.model import epoch_ms
from liveshop.markets.model import MARKETS, market_from_accept_language
from liveshop.web.context import AppContext

router = APIRouter()

# Frames a socket may have waiting before it counts as too slow and is dropped.
QUEUE_LIMIT = 256
MAX_INCOMING_BYTES = 4096
REACTIONS_PER_SECOND = 10
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_ORIGIN = 4401


class SocketConnection:
    """One viewer's socket: frames are queued without waiting and written by one task."""

    def __init__(self, websocket: WebSocket, actor: Actor | None, visitor_id: str,
                 is_staff: bool):
        self.websocket = websocket
        self.user_id = actor.user_id if actor else None
        self.visitor_id = visitor_id
        self.is_staff = is_staff
        self.queue: asyncio.Queue[str | int] = asyncio.Queue(QUEUE_LIMIT)
        self.open = True

    def offer(self, frame: str) -> bool:
        if not self.open:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.open = False
            self._force_close()
            return False
        return True

    def close_soon(self, code: int) -> None:
        if self.open:
            self.open = False
            try:
                self.queue.put_nowait(code)
            except asyncio.QueueFull:
                self._force_close()

    def _force_close(self) -> None:
        # The writer is stuck behind a full queue: replace what is queued with the close.
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(CLOSE_TOO_SLOW)

    async def write_forever(self) -> None:
        while True:
            item = await self.queue.get()
            if isinstance(item, int):
                await self.websocket.close(code=item)
                return
            await self.websocket.send_text(item)


def _same_origin(websocket: WebSocket) -> bool:
    """Refuse cross-site pages riding on the viewer's cookies (WebSocket has no CORS)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlparse(origin).netloc == websocket.headers.get("host", "")


def _who(websocket: WebSocket, context: AppContext) -> tuple[Actor | None, str, str]:
    session = websocket.session
    user_id = session.get("uid")
    actor = accounts.get_actor(context.db, user_id) if isinstance(user_id, int) else None
    chosen = websocket.query_params.get("market") or session.get("market")
    market = chosen if isinstance(chosen, str) and chosen in MARKETS else (
        market_from_accept_language(websocket.headers.get("accept-language")).code)
    visitor = f"user:{actor.user_id}" if actor else (
        f"anon:{session.get('vid') or secrets.token_hex(8)}")
    return actor, market, visitor


@router.websocket("/ws/shows/{show_id}")
async def room(websocket: WebSocket, show_id: int) -> None:
    context: AppContext = websocket.app.state.context
    hub: Hub = websocket.app.state.hub
    if not _same_origin(websocket):
        await websocket.close(code=CLOSE_BAD_ORIGIN)
        return
    await websocket.accept()
    actor, market, visitor = await run_in_threadpool(_who, websocket, context)
    try:
        if actor is not None and await run_in_threadpool(
                service.is_banned, context.db, show_id, actor.user_id):
            await websocket.send_text(encode({"type": "error", "code": "banned",
                                              "message": "You are banned from this shop's shows"}))
            await websocket.close(code=CLOSE_BANNED)
            return
    except DomainError:
        await websocket.close(code=CLOSE_NOT_FOUND)
        return

    connection = SocketConnection(websocket, actor, visitor, is_staff=False)
    # Join before the snapshot so nothing published meanwhile is lost (the client
    # de-duplicates chat by id).
    hub.join(show_id, connection)
    writer: asyncio.Task[None] | None = None
    try:
        await hub.ready(show_id)
        snapshot = await run_in_threadpool(service.snapshot, context.db, context.settings,
                                           show_id, actor, market, hub.viewer_count(show_id))
        connection.is_staff = bool(snapshot["you"]["can_moderate"])
        await websocket.send_text(encode(snapshot))
        writer = asyncio.create_task(connection.write_forever())
        await _read_forever(websocket, context, hub, connection, show_id, actor)
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(show_id, connection)
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer


async def _read_forever(websocket: WebSocket, context: AppContext, hub: Hub,
                        connection: SocketConnection, show_id: int,
                        actor: Actor | None) -> None:
    reactions_window, reactions = time.monotonic(), 0
    while True:
        raw = await websocket.receive_text()
        if len(raw) > MAX_INCOMING_BYTES:
            _error(connection, "too_large", "Message too large", None, None)
            continue
        try:
            message: dict[str, Any] = json.loads(raw)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            _error(connection, "invalid", "Send JSON with a type", "type", None)
            continue
        ref = message.get("ref")
        if kind == "ping":
            connection.offer(encode({"type": "pong", "server_time": epoch_ms(utcnow()),
                                     "ref": ref}))
        elif kind == "react":
            now = time.monotonic()
            if now - reactions_window >= 1:
                reactions_window, reactions = now, 0
            reactions += 1
            if reactions <= REACTIONS_PER_SECOND:
                hub.react(show_id)
        elif kind == "chat":
            if actor is None:
                _error(connection, "not_authenticated", "Log in to chat", "text", ref)
                continue
            try:
                await run_in_threadpool(service.post_chat, context.db, context.limiter,
                                        hub.events, actor, show_id, str(message.get("text", "")))
            except DomainError as error:
                _error(connection, error.code, error.message, error.field, ref)
        else:
            _error(connection, "unknown_type", f"Unknown message type {kind!r}", "type", ref)


def _error(connection: SocketConnection, code: str, message: str, field: str | None,
           ref: Any) -> None:
    connection.offer(encode({"type": "error", "code": code, "message": message,
                             "field": field, "ref": ref}))
