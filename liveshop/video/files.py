"""HLS files served by the app (when no LIVESHOP_HLS_BASE_URL origin serves them).

Only names matching ``model.SAFE_FILE`` inside a show's ``live``/``recording`` folder are
served, so no request can reach another path. Playlists change and must be re-fetched;
segments never change once listed, so caches may keep them forever.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response
from starlette.requests import HTTPConnection

from liveshop.video import model
from liveshop.video.model import KIND_LIVE, KIND_RECORDING
from liveshop.web.deps import context_of

router = APIRouter()

CONTENT_TYPES = {
    "m3u8": "application/vnd.apple.mpegurl",
    "ts": "video/mp2t",
    "m4s": "video/iso.segment",
    "jpg": "image/jpeg",
}
IMMUTABLE = "public, max-age=31536000, immutable"
VIDEO_PATH = "/video/"
# uvicorn's access log: logger.info('%s - "%s %s HTTP/%s" %d', client, method, path, ...).
ACCESS_LOGGER = "uvicorn.access"


class HlsRequestsAtDebug(logging.Filter):
    """HLS requests go to uvicorn's access log at debug level: every viewer asks for the
    playlist each second and for every segment, which would bury all other requests.
    Server errors on them stay at their level."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not (isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str)
                and args[2].startswith(VIDEO_PATH)):
            return True
        if isinstance(args[4], int) and args[4] >= 500:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_hls_access_log() -> None:
    """Install :class:`HlsRequestsAtDebug` on uvicorn's access log (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, HlsRequestsAtDebug) for existing in logger.filters):
        logger.addFilter(HlsRequestsAtDebug())


def _not_found() -> Response:
    return Response(status_code=404, headers={"Cache-Control": "no-cache"})


async def media_dir(connection: HTTPConnection) -> Path:
    return Path(context_of(connection).settings.media_dir)


MediaDir = Annotated[Path, Depends(media_dir)]


@router.get("/video/{show_id}/{kind}/{name}", include_in_schema=False)
def hls_file(show_id: int, kind: str, name: str, media: MediaDir) -> Response:
    match = model.SAFE_FILE.fullmatch(name)
    if kind not in (KIND_LIVE, KIND_RECORDING) or match is None or match.group(1) == "jpg":
        return _not_found()
    path = model.show_dir(media, show_id) / kind / name
    extension = match.group(1)
    if extension == "m3u8":
        try:
            text = path.read_text()
        except FileNotFoundError:
            return _not_found()
        # A finished recording no longer changes; a live one changes every second.
        finished = kind == KIND_RECORDING and model.ENDLIST in text
        return Response(text, media_type=CONTENT_TYPES[extension], headers={
            "Cache-Control": "public, max-age=60" if finished else "no-cache"})
    if not path.is_file():
        return _not_found()
    return FileResponse(path, media_type=CONTENT_TYPES[extension],
                        headers={"Cache-Control": IMMUTABLE})


@router.get("/video/{show_id}/poster.jpg", include_in_schema=False)
def poster(show_id: int, media: MediaDir) -> Response:
    path = model.show_dir(media, show_id) / model.POSTER
    if not path.is_file():
        return _not_found()
    return FileResponse(path, media_type=CONTENT_TYPES["jpg"],
                        headers={"Cache-Control": "public, max-age=5"})
