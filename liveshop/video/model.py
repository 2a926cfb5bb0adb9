"""Rules of live video, free of HTTP, SQL and processes: states, keys, file names, URLs."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from enum import StrEnum
from pathlib import Path


class StreamState(StrEnum):
    IDLE = "idle"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class Publisher(StrEnum):
    RTMP = "rtmp"
    BROWSER = "browser"


RTMP_APP = "live"
PLAYLIST = "index.m3u8"
POSTER = "poster.jpg"
# The only file names ever served: no separators, no dots but the extension's.
SAFE_FILE = re.compile(r"[A-Za-z0-9_-]+\.(ts|m3u8|jpg|m4s)")
KIND_LIVE = "live"
KIND_RECORDING = "recording"
ENDLIST = "#EXT-X-ENDLIST"
_PROGRAM_DATE_TIME = re.compile(r"^#EXT-X-PROGRAM-DATE-TIME:(\S+)$", re.MULTILINE)


def new_stream_key() -> str:
    return secrets.token_urlsafe(24)  # 32 url-safe characters


def stream_key_of(publishing_name: str) -> str:
    """OBS and others may append query parameters to the stream name."""
    return publishing_name.split("?", 1)[0].strip()


def show_dir(media_dir: Path, show_id: int) -> Path:
    return media_dir / "video" / str(show_id)


def playlist_path(media_dir: Path, show_id: int, kind: str) -> Path:
    return show_dir(media_dir, show_id) / kind / PLAYLIST


def base_url(hls_base_url: str) -> str:
    return hls_base_url.rstrip("/") if hls_base_url else "/video"


def playlist_url(hls_base_url: str, show_id: int, kind: str) -> str:
    return f"{base_url(hls_base_url)}/{show_id}/{kind}/{PLAYLIST}"


def poster_url(hls_base_url: str, show_id: int) -> str:
    return f"{base_url(hls_base_url)}/{show_id}/{POSTER}"


def first_program_date_time(playlist: str) -> datetime | None:
    """The wall-clock time of the playlist's first segment (ffmpeg writes +0000 offsets)."""
    found = _PROGRAM_DATE_TIME.search(playlist)
    if found is None:
        return None
    text = found.group(1)
    if text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def with_endlist(playlist: str) -> str:
    if ENDLIST in playlist:
        return playlist
    return playlist.rstrip("\n") + f"\n{ENDLIST}\n"
