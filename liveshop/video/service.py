"""Video use cases: stream keys, who may publish, and the publish/drop/end state machine.

The state lives in ``video_streams`` so every app process (and a restarted one) agrees on
it; refusals happen here, before any media is read. Each change of state is recorded as a
``VideoStateChanged`` in its transaction: the room is told once it commits.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts import service as accounts
from liveshop.accounts.model import Actor
from liveshop.core.config import Settings
from liveshop.core.db import Database, rows_affected, utcnow
from liveshop.core.errors import Conflict, Forbidden, NotFound
from liveshop.core.events import record
from liveshop.live import access, shows
from liveshop.live.frames import VideoFrame
from liveshop.live.model import ShowStatus, epoch_ms
from liveshop.live.orm import Show
from liveshop.video import model
from liveshop.video.events import VideoStateChanged
from liveshop.video.model import KIND_LIVE, KIND_RECORDING, Publisher, StreamState
from liveshop.video.orm import VideoStream
from liveshop.video.schemas import StreamInfo


@dataclass(frozen=True)
class Grant:
    """Publishing was accepted for this show."""

    show_id: int
    resumed: bool


def _show(session: Session, show_id: int) -> Show:
    show = session.get(Show, show_id)
    if show is None:
        raise NotFound("No such show", field="show_id")
    return show


def _ensure_stream(db: Database, show_id: int) -> None:
    """Create the show's stream row (and key) the first time anyone needs it."""
    try:
        with db.transaction() as session:
            _show(session, show_id)
            if session.get(VideoStream, show_id) is None:
                session.add(VideoStream(show_id=show_id, stream_key=model.new_stream_key(),
                                        state=StreamState.IDLE))
    except IntegrityError:
        pass  # a concurrent request created it


def _require_host(session: Session, actor: Actor, show: Show) -> None:
    if not access.can_host(session, actor, show):
        raise Forbidden("Only the show's host or shop can publish video", field="show_id")


def _info(stream: VideoStream, settings: Settings, rtmp_host: str) -> StreamInfo:
    base = settings.hls_base_url
    return StreamInfo(
        show_id=stream.show_id, stream_key=stream.stream_key,
        rtmp_url=settings.rtmp_public_url or f"rtmp://{rtmp_host}:{settings.rtmp_port}/live",
        publish_url=f"/ws/shows/{stream.show_id}/publish", state=stream.state,
        publisher=stream.publisher,
        playlist=model.playlist_url(base, stream.show_id, KIND_LIVE),
        recording=model.playlist_url(base, stream.show_id, KIND_RECORDING),
        poster=model.poster_url(base, stream.show_id),
        recording_started_at=stream.recording_started_at,
    )


def stream_info(db: Database, settings: Settings, actor: Actor, show_id: int,
                rtmp_host: str = "localhost") -> StreamInfo:
    """The key and URLs for the control room; ``rtmp_host`` is the host name the site was
    reached at (used unless LIVESHOP_RTMP_PUBLIC_URL says otherwise)."""
    with db.read() as session:
        _require_host(session, actor, _show(session, show_id))
    _ensure_stream(db, show_id)
    with db.read() as session:
        stream = session.get(VideoStream, show_id)
        assert stream is not None
        return _info(stream, settings, rtmp_host)


def regenerate_key(db: Database, settings: Settings, actor: Actor, show_id: int,
                   rtmp_host: str = "localhost") -> StreamInfo:
    """A new key; the old one is refused from now on (a connected publisher keeps going)."""
    _ensure_stream(db, show_id)
    with db.transaction() as session:
        _require_host(session, actor, _show(session, show_id))
        stream = session.get(VideoStream, show_id, with_for_update=True)
        assert stream is not None
        stream.stream_key = model.new_stream_key()
        return _info(stream, settings, rtmp_host)


def revoke_publishing(session: Session, show_ids: Collection[int]) -> list[int]:
    """These shows changed hands (liveshop/live/creators.py, ``remove_creator``): a new stream
    key for each, in the caller's transaction, and the publisher streaming with the old one
    is cut off. The stream is marked dropped here, so nobody can resume with the old key
    and the new one may publish; the ingest process's supervisor sees its session is no
    longer live in the database and disconnects it (:func:`cut_off_sessions`); its room
    is told. The shows whose publisher was cut off."""
    if not show_ids:
        return []
    now = utcnow()
    cut_off = []
    for stream in session.scalars(select(VideoStream).where(
            VideoStream.show_id.in_(show_ids)).order_by(VideoStream.show_id).with_for_update()):
        stream.stream_key = model.new_stream_key()
        if stream.state == StreamState.LIVE:
            stream.state, stream.publisher = StreamState.RECONNECTING, None
            stream.disconnected_at = stream.updated_at = now
            cut_off.append(stream.show_id)
            record(session, VideoStateChanged(stream.show_id, StreamState.RECONNECTING))
    return cut_off


def cut_off_sessions(db: Database, show_ids: Collection[int]) -> list[int]:
    """Of the shows this process takes video for, those whose stream the database no longer
    has live: their publisher was cut off (:func:`revoke_publishing`) and must go."""
    if not show_ids:
        return []
    with db.read() as session:
        live = set(session.scalars(select(VideoStream.show_id).where(
            VideoStream.show_id.in_(show_ids), VideoStream.state == StreamState.LIVE)))
    return sorted(set(show_ids) - live)


def begin_publish(db: Database, publisher: Publisher, *, key: str | None = None,
                  show_id: int | None = None, actor: Actor | None = None) -> Grant:
    """Accept or refuse a publisher before any media is read: RTMP by ``key``, the
    browser by ``show_id`` and ``actor``. Publishing to a scheduled show takes it live."""
    if show_id is not None:
        _ensure_stream(db, show_id)
    with db.transaction() as session:
        if key is not None:
            stream = session.scalars(select(VideoStream).where(
                VideoStream.stream_key == key)).one_or_none()
            if stream is None:
                raise NotFound("Unknown stream key", field="stream_key")
            show = _show(session, stream.show_id)
        else:
            assert show_id is not None and actor is not None
            show = _show(session, show_id)
            _require_host(session, actor, show)
        if show.status == ShowStatus.ENDED:
            raise Conflict("This show has ended", code="show_ended", field="show_id")
        previous = session.scalar(select(VideoStream.state).where(
            VideoStream.show_id == show.id))
        # Conditional: of two publishers racing for one show, exactly one wins.
        won = rows_affected(session.execute(
            update(VideoStream).where(
                VideoStream.show_id == show.id,
                VideoStream.state.in_((StreamState.IDLE, StreamState.RECONNECTING)))
            .values(state=StreamState.LIVE, publisher=publisher, connected_at=utcnow(),
                    disconnected_at=None, updated_at=utcnow())))
        if not won:
            raise Conflict("Someone is already publishing to this show",
                           code="already_publishing", field="stream_key")
        grant = Grant(show.id, resumed=previous == StreamState.RECONNECTING)
        host_id, scheduled = show.host_id, show.status == ShowStatus.SCHEDULED
    if scheduled:
        host = accounts.get_actor(db, host_id)
        try:
            if host is None:
                raise Forbidden("The show's host account is closed", field="show_id")
            shows.go_live(db, host, grant.show_id)
        except Conflict:
            pass  # the host pressed Go live at the same moment
        except BaseException:
            publisher_dropped(db, grant.show_id)
            raise
    return grant


def publisher_dropped(db: Database, show_id: int) -> None:
    """The publisher went away: viewers wait (grace period) instead of the show ending."""
    with db.transaction() as session:
        changed = rows_affected(session.execute(
            update(VideoStream).where(VideoStream.show_id == show_id,
                                      VideoStream.state == StreamState.LIVE)
            .values(state=StreamState.RECONNECTING, publisher=None,
                    disconnected_at=utcnow(), updated_at=utcnow())))
        if changed:
            record(session, VideoStateChanged(show_id, StreamState.RECONNECTING))


def media_started(db: Database, show_id: int, recording_started_at: datetime | None) -> None:
    """The live playlist has segments: players can start. Remembers when the recording
    began (the first time only) for replay offsets."""
    with db.transaction() as session:
        stream = session.get(VideoStream, show_id)
        if stream is None or stream.state != StreamState.LIVE:
            return
        if stream.recording_started_at is None and recording_started_at is not None:
            stream.recording_started_at = recording_started_at
        record(session, VideoStateChanged(show_id, StreamState.LIVE))


def video_frame(hls_base_url: str, show_id: int, state: str) -> VideoFrame:
    """The room's ``video`` frame for a stream now in ``state``."""
    playing = state in (StreamState.LIVE, StreamState.RECONNECTING)
    return {"type": "video", "state": state,
            "playlist": model.playlist_url(hls_base_url, show_id, KIND_LIVE) if playing
            else None,
            "poster": model.poster_url(hls_base_url, show_id)}


def due_to_end(db: Database, grace_seconds: float, now: datetime | None = None) -> list[int]:
    """Shows whose publisher did not come back in time, and shows ended from the control
    room while video was still on: both get their recording closed."""
    now = now or utcnow()
    with db.read() as session:
        late = session.scalars(select(VideoStream.show_id).where(
            VideoStream.state == StreamState.RECONNECTING,
            VideoStream.disconnected_at <= now - timedelta(seconds=grace_seconds)))
        ended = session.scalars(select(VideoStream.show_id).join(
            Show, Show.id == VideoStream.show_id).where(
            VideoStream.state.in_((StreamState.LIVE, StreamState.RECONNECTING)),
            Show.status == ShowStatus.ENDED))
        return sorted(set(late) | set(ended))


def finish(db: Database, settings: Settings, show_id: int) -> None:
    """End the show (if still live) and close its video for good. Call after the show's
    packager has stopped, so nothing rewrites the playlists afterwards. The playlists are
    closed first, so the room, told the video ended, finds them whole."""
    with contextlib.suppress(Conflict, NotFound):  # already ended by the host, or deleted
        shows.end_show(db, None, show_id)
    for kind in (KIND_LIVE, KIND_RECORDING):
        path = model.playlist_path(settings.media_dir, show_id, kind)
        if path.exists():
            _replace(path, model.with_endlist(path.read_text()))
    with db.transaction() as session:
        session.execute(update(VideoStream).where(VideoStream.show_id == show_id).values(
            state=StreamState.ENDED, publisher=None, updated_at=utcnow()))
        record(session, VideoStateChanged(show_id, StreamState.ENDED))


def _replace(path: Path, text: str) -> None:
    """Players must never read a half-written playlist."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def recover_after_restart(db: Database) -> int:
    """A process that stopped while someone published left ``live`` rows behind: treat them
    as dropped now, so the publisher gets the grace period to reconnect."""
    with db.transaction() as session:
        return rows_affected(session.execute(
            update(VideoStream).where(VideoStream.state == StreamState.LIVE)
            .values(state=StreamState.RECONNECTING, publisher=None,
                    disconnected_at=utcnow(), updated_at=utcnow())))


def delete_expired_recordings(db: Database, media_dir: Path, retention_days: int,
                              now: datetime | None = None) -> list[int]:
    """Remove the video files of shows that ended more than ``retention_days`` ago."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with db.read() as session:
        show_ids = list(session.scalars(select(VideoStream.show_id).where(
            VideoStream.state == StreamState.ENDED,
            VideoStream.recording_started_at.is_not(None),
            VideoStream.updated_at < cutoff)))
    for show_id in show_ids:
        shutil.rmtree(model.show_dir(media_dir, show_id), ignore_errors=True)
        with db.transaction() as session:
            session.execute(update(VideoStream).where(VideoStream.show_id == show_id)
                            .values(recording_started_at=None))
    return show_ids


def room_view(session: Session, hls_base_url: str, show_id: int) -> dict[str, Any]:
    """The ``video`` object of the room snapshot and the replay page (docs/video.md); the
    rooms reach it through their video link (liveshop/video/link.py)."""
    stream = session.get(VideoStream, show_id)
    state = stream.state if stream else StreamState.IDLE
    started = stream.recording_started_at if stream else None
    playing = started is not None and state in (StreamState.LIVE, StreamState.RECONNECTING)
    return {
        "state": state,
        "playlist": model.playlist_url(hls_base_url, show_id, KIND_LIVE) if playing else None,
        "poster": model.poster_url(hls_base_url, show_id) if started else None,
        "recording": model.playlist_url(hls_base_url, show_id, KIND_RECORDING)
        if started else None,
        "recording_started_at": epoch_ms(started) if started else None,
    }

