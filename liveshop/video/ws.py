"""Publishing from the browser: MediaRecorder WebM chunks over a WebSocket
(docs/video.md, "Publishing from the browser")."""

from __future__ import annotations

import json
from typing import Annotated, Protocol
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from liveshop.accounts import sessions
from liveshop.accounts.model import Actor
from liveshop.core.errors import Conflict, DomainError, NotFound
from liveshop.video.model import Publisher
from liveshop.video.packager import (
    EBML_MAGIC,
    WEBM,
    Packager,
    PackagerFailed,
    webm_has_h264,
    webm_header_end,
)
from liveshop.video.runtime import PublishSession, VideoRuntime
from liveshop.web.context import AppContext
from liveshop.web.deps import WebServices, services_of

router = APIRouter()

MAX_FRAME_BYTES = 4 * 1024 * 1024
CLOSE_BAD_ORIGIN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_CONFLICT = 4409
CLOSE_TOO_LARGE = 4413
CLOSE_NOT_WEBM = 4415
CLOSE_SERVER_ERROR = 1011
CLOSE_UNAVAILABLE = 4503


def _same_origin(websocket: WebSocket) -> bool:
    """A page on another site must not publish with the host's cookies."""
    origin = websocket.headers.get("origin")
    return origin is None or urlparse(origin).netloc == websocket.headers.get("host", "")


def _actor(websocket: WebSocket, context: AppContext) -> Actor | None:
    return sessions.cookie_actor(context.db, context.session_use, websocket.session)


async def _refuse(websocket: WebSocket, code: int, error: str, message: str) -> None:
    await websocket.send_text(json.dumps({"type": "error", "code": error, "message": message}))
    await websocket.close(code=code)


def _close_code(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return CLOSE_NOT_FOUND
    if isinstance(error, Conflict):
        return CLOSE_CONFLICT
    return CLOSE_FORBIDDEN


class PublishingServices(WebServices, Protocol):
    """What publishing takes from the app's services (liveshop/services.py)."""

    @property
    def video(self) -> VideoRuntime: ...


async def get_publishing_services(connection: HTTPConnection) -> PublishingServices:
    services: PublishingServices = services_of(connection)
    return services


Publishing = Annotated[PublishingServices, Depends(get_publishing_services)]


@router.websocket("/ws/shows/{show_id}/publish")
async def publish(websocket: WebSocket, show_id: int, services: Publishing) -> None:
    context, runtime = services.context, services.video
    # Accept first: a browser only sees close codes of an accepted socket.
    await websocket.accept()
    if not _same_origin(websocket):
        await _refuse(websocket, CLOSE_BAD_ORIGIN, "bad_origin", "Publish from this site")
        return
    if not context.settings.video_ingest:
        await _refuse(websocket, CLOSE_UNAVAILABLE, "not_ingest",
                      "This server does not take video; publish through the ingest server")
        return
    actor = await run_in_threadpool(_actor, websocket, context)
    if actor is None:
        await _refuse(websocket, CLOSE_FORBIDDEN, "not_authenticated", "Log in to publish")
        return
    try:
        session = await runtime.accept(Publisher.BROWSER, show_id=show_id, actor=actor)
    except DomainError as refusal:
        await _refuse(websocket, _close_code(refusal), refusal.code, refusal.message)
        return
    try:
        await websocket.send_text(json.dumps({"type": "publishing",
                                              "resumed": session.grant.resumed}))
        await _receive_media(websocket, runtime, session)
    except WebSocketDisconnect:
        pass
    except PackagerFailed:
        await _refuse(websocket, CLOSE_SERVER_ERROR, "packager_failed",
                      "The video could not be processed")
    finally:
        await runtime.close(session)


async def _receive_media(websocket: WebSocket, runtime: VideoRuntime,
                         session: PublishSession) -> None:
    pending = b""
    packager: Packager | None = None
    while not session.kick.is_set():
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if not data:
            continue  # text frames carry nothing the server needs
        if len(data) > MAX_FRAME_BYTES:
            await _refuse(websocket, CLOSE_TOO_LARGE, "too_large", "Frames are at most 4 MB")
            return
        if packager is None:
            pending += data
            if not pending.startswith(EBML_MAGIC[:len(pending)]) or len(pending) > \
                    MAX_FRAME_BYTES:
                await _refuse(websocket, CLOSE_NOT_WEBM, "not_webm", "Send WebM from the start")
                return
            end = webm_header_end(pending)
            if end < 0:
                continue
            packager = await runtime.start_media(
                session, WEBM, pending[:end], copy_video=webm_has_h264(pending[:end]),
                copy_audio=False)
            await packager.write(pending[end:])
        else:
            await packager.write(data)
    await websocket.close(code=1000)

